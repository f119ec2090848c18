import Foundation
import HTTPTypes

/// The kinds of credential a request can carry. A route accepts a set of them (``RouteTable``); credentials of
/// kinds it does not accept are ignored, as if they were not sent.
public enum CredentialKind: String, Sendable, CaseIterable, Hashable {
    /// `X-API-Key`: the operator's key, held by the CLI, the worker installer and old workers.
    case apiKey
    /// `X-Build-Token`: the submitter's token of one build.
    case buildToken
    /// A worker: `X-Worker-Token`, or `X-API-Key` plus its id (`X-Worker-Id`, `worker_id` query or form field).
    case worker
    /// `X-VM-Token`: the VM of one build attempt, from its one-time password.
    case vmToken
    /// `X-VM-Token` carrying a heartbeat-only token from `vm-status`.
    case heartbeatToken
    /// The build's current one-time password, in the JSON body of `authenticate` (read by that handler alone).
    case otp
    /// The operator dashboard's session cookie, or on its sign-in form the API key typed into the form (read by
    /// the dashboard's handlers alone, never from a header).
    case dashboardSession
}

/// The credential headers, read once per request. Values that are not even shaped like a token are kept as
/// "malformed" so they fail like a wrong credential (403), not like a missing one (401).
struct PresentedCredentials: Sendable {
    enum Value: Sendable, Equatable {
        case token(String)
        case malformed
    }

    var apiKey: Value?
    var buildToken: Value?
    var workerToken: Value?
    var vmToken: Value?
    /// The worker id named by header or query; a form field can add one later (old workers' uploads).
    var workerID: String?

    static let apiKeyHeader = HTTPField.Name("X-API-Key")!
    static let buildTokenHeader = HTTPField.Name("X-Build-Token")!
    static let workerTokenHeader = HTTPField.Name("X-Worker-Token")!
    static let workerIDHeader = HTTPField.Name("X-Worker-Id")!
    static let vmTokenHeader = HTTPField.Name("X-VM-Token")!

    init(headers: HTTPFields, workerIDQuery: String?, accepting kinds: Set<CredentialKind>) {
        func read(_ name: HTTPField.Name) -> Value? {
            guard let text = headers[name] else { return nil }
            let trimmed = text.trimmingOptionalWhitespace
            guard !trimmed.isEmpty else { return nil }
            guard trimmed.utf8.count <= 256, trimmed.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return .malformed }
            return .token(String(trimmed))
        }
        if kinds.contains(.apiKey) || kinds.contains(.worker) { apiKey = read(Self.apiKeyHeader) }
        if kinds.contains(.buildToken) { buildToken = read(Self.buildTokenHeader) }
        if kinds.contains(.worker) {
            workerToken = read(Self.workerTokenHeader)
            workerID = headers[Self.workerIDHeader].flatMap { $0.isEmpty ? nil : $0 } ?? workerIDQuery
        }
        if kinds.contains(.vmToken) || kinds.contains(.heartbeatToken) { vmToken = read(Self.vmTokenHeader) }
    }
}
