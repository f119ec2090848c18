import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// What every route of the table runs through: the authentication-failure limiter, the per-credential upload
/// cap, and the security log lines of the route's outcome.
struct RouteGuard: Sendable {
    let failures: AuthFailureLimiter
    let uploads: UploadSlots
    let trustedProxies: Set<String>

    init(configuration: GatewayConfiguration) {
        failures = AuthFailureLimiter(limit: configuration.authFailureLimit, window: configuration.authFailureWindow)
        uploads = UploadSlots(limit: configuration.maxConcurrentUploadsPerCredential)
        trustedProxies = configuration.trustedProxies
    }

    func run(
        _ route: Route, _ request: Request, _ context: GatewayRequestContext,
        _ handler: () async throws -> Response
    ) async throws -> Response {
        let client = ClientAddress.of(request, peer: context.remoteAddress, trustedProxies: trustedProxies)
        // Routes that take no credential at all (health, stats, the document, vm-status) stay reachable.
        let limited = !route.accepts.isEmpty
        if limited, let client, let wait = failures.retryAfter(client: client) {
            SecurityLog.log(
                .rateLimited, "request refused: too many authentication failures", logger: context.logger, route: route,
                client: client, headers: request.headers, extra: ["retry_after": "\(wait)"])
            throw AbuseLimitError(.tooManyAuthenticationFailures, retryAfterSeconds: wait)
        }
        do {
            let response: Response
            if route.isUpload, let credential = Self.uploadCredential(request.headers) {
                response = try await uploads.withSlot(for: credential, handler)
            } else {
                response = try await handler()
            }
            if let event = route.audit, (200..<300).contains(response.status.code) {
                var extra: Logger.Metadata = [:]
                if let id = context.parameters.get("id") { extra[event == .revocation ? "worker_id" : "build_id"] = .string(id) }
                SecurityLog.log(
                    event, event == .revocation ? "worker revoked" : "certs released", logger: context.logger,
                    route: route, client: client, headers: request.headers, extra: extra)
            }
            return response
        } catch let error as AbuseLimitError {
            SecurityLog.log(
                .rateLimited, "request refused: \(error.code == .tooManyConcurrentUploads ? "concurrent upload cap" : "limit")",
                logger: context.logger, route: route, client: client, headers: request.headers)
            throw error
        } catch {
            let (status, reason, _) = ErrorMapping.response(for: error)
            if status == .unauthorized || status == .forbidden {
                SecurityLog.log(
                    .authFailure, "authentication failed", logger: context.logger, route: route, client: client,
                    headers: request.headers, extra: ["status": "\(status.code)", "reason": .string(reason)])
                if limited, let client, let blockedFor = failures.recordFailure(client: client) {
                    SecurityLog.log(
                        .rateLimited, "client limited after repeated authentication failures", logger: context.logger,
                        route: route, client: client, headers: request.headers, extra: ["retry_after": "\(blockedFor)"])
                }
            }
            throw error
        }
    }

    /// The credential an upload counts against: the most specific one sent.
    static func uploadCredential(_ headers: HTTPFields) -> String? {
        for name in [
            PresentedCredentials.workerTokenHeader, PresentedCredentials.vmTokenHeader, PresentedCredentials.buildTokenHeader,
            PresentedCredentials.apiKeyHeader,
        ] {
            if let value = headers[name]?.trimmingOptionalWhitespace, !value.isEmpty { return String(value) }
        }
        return nil
    }
}
