import HTTPTypes
import Logging

/// The security-relevant events worth a log line of their own.
public enum SecurityEvent: String, Sendable {
    /// A request refused with 401 or 403.
    case authFailure = "auth_failure"
    /// A client refused with 429 (authentication failures or concurrent uploads).
    case rateLimited = "rate_limited"
    /// A worker's tokens revoked by the operator.
    case revocation
    /// A build's signing certs handed to its holder.
    case certRelease = "cert_release"
}

/// Structured security log lines: one message per event, with `security_event`, the request id (already in the
/// request logger's metadata), the client address, the route template and, where it applies, the status and the
/// client-facing reason. Never a credential's value: only the names of the credential headers that were sent.
enum SecurityLog {
    static let credentialHeaders: [HTTPField.Name] = [
        PresentedCredentials.apiKeyHeader, PresentedCredentials.buildTokenHeader, PresentedCredentials.workerTokenHeader,
        PresentedCredentials.vmTokenHeader, PresentedCredentials.workerIDHeader,
    ]

    static func log(
        _ event: SecurityEvent, _ message: String, logger: Logger, route: Route, client: String?, headers: HTTPFields,
        extra: Logger.Metadata = [:]
    ) {
        var metadata: Logger.Metadata = [
            "security_event": .string(event.rawValue),
            "client": .string(client ?? "unknown"),
            "route": .string("\(route.method.rawValue) \(route.path)"),
            "credentials_sent": .string(credentialHeaders.filter { headers[$0] != nil }.map(\.rawName).joined(separator: ",")),
        ]
        metadata.merge(extra) { _, new in new }
        let level: Logger.Level = event == .rateLimited ? .warning : .notice
        logger.log(level: level, "\(message)", metadata: metadata)
    }
}
