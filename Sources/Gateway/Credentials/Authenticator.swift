import Identifiers
import Orchestrator

/// Decides who a request is, by the contract's rules of precedence:
///
/// - of the credentials a route accepts, any valid one grants access; nothing acceptable sent → 401;
/// - an `X-Worker-Token`, where sent, alone decides who the worker is: unknown, expired or revoked → 401, even
///   beside a valid API key (``CredentialKind/worker`` routes only);
/// - a wrong API key, build token or VM token → 403;
/// - an unknown build or worker → 404, only once authentication succeeded, so ids cannot be probed.
struct Authenticator: Sendable {
    let apiKey: String
    let orchestrator: Orchestrator

    /// A worker proven by its token or by the API key plus its id.
    struct WorkerPrincipal: Sendable {
        let workerID: String
        /// Proven with the API key (the older generations), as opposed to a worker token alone.
        let viaAPIKey: Bool
        /// The token that proved it, with its expiry, on the token path.
        let token: (clearText: String, lookup: WorkerTokenLookup)?
    }

    /// Who holds a build's attempt.
    struct Holder: Sendable {
        let buildID: String
        let attempt: Int
        /// The worker, when the caller is the worker (the VM of an attempt knows no worker id).
        let workerID: String?
        let via: CredentialKind
    }

    func isValidAPIKey(_ value: PresentedCredentials.Value?) -> Bool {
        guard case .token(let key)? = value else { return false }
        return ConstantTime.equals(key, apiKey)
    }

    /// Routes that take the API key alone.
    func requireAPIKey(_ credentials: PresentedCredentials) throws {
        guard let key = credentials.apiKey else { throw GatewayError.unauthorized() }
        guard isValidAPIKey(key) else { throw GatewayError.forbidden("Invalid API key") }
    }

    /// Routes that take the API key or the build's own token. Throws 404 for an unknown build only after a
    /// valid API key.
    func requireOperatorOrSubmitter(_ credentials: PresentedCredentials, build id: String) async throws {
        if credentials.apiKey == nil && credentials.buildToken == nil { throw GatewayError.unauthorized() }
        if isValidAPIKey(credentials.apiKey) {
            guard try await orchestrator.build(id) != nil else { throw GatewayError.notFound("Build not found") }
            return
        }
        if case .token(let text)? = credentials.buildToken, let token = SecretToken(presented: text),
            try await orchestrator.buildTokenMatches(build: id, digest: token.digest.bytes) == true
        {
            return
        }
        throw GatewayError.forbidden(credentials.buildToken == nil ? "Invalid API key" : "Invalid build token")
    }

    /// A worker, by token or by API key plus id. `formWorkerID` is the id an upload's form named, if any.
    func requireWorker(_ credentials: PresentedCredentials, formWorkerID: String? = nil) async throws -> WorkerPrincipal {
        if let tokenValue = credentials.workerToken {
            guard case .token(let text) = tokenValue, let token = SecretToken(presented: text),
                let lookup = try await orchestrator.workerToken(digest: token.digest.bytes),
                !lookup.isExpired, !lookup.isRevoked
            else { throw GatewayError.unauthorized("Invalid or expired worker token") }
            return WorkerPrincipal(workerID: lookup.workerID, viaAPIKey: credentials.apiKey != nil, token: (text, lookup))
        }
        guard let key = credentials.apiKey else { throw GatewayError.unauthorized() }
        guard isValidAPIKey(key) else { throw GatewayError.forbidden("Invalid API key") }
        guard let idText = credentials.workerID ?? formWorkerID else { throw GatewayError.badRequest("worker_id required") }
        guard let id = WorkerID(idText), try await orchestrator.worker(id.rawValue) != nil else {
            throw GatewayError.notFound("Worker not found")
        }
        return WorkerPrincipal(workerID: id.rawValue, viaAPIKey: true, token: nil)
    }

    /// The holder of build `id`'s current attempt: its worker (``CredentialKind/worker``) or its VM
    /// (``CredentialKind/vmToken``, and ``CredentialKind/heartbeatToken`` where `accepts` has it).
    ///
    /// A caller that held only an earlier attempt is told why its attempt is over (409); one that never held
    /// the build, or holds a token of another build, gets 403.
    ///
    /// `provenWorker` is what ``requireWorker(_:formWorkerID:)`` already returned for these same `credentials`
    /// earlier in the request (a route that authenticates before it reads the body): it stands in for that
    /// call's second run, so the worker token is looked up once per request, not twice. Every other step, the
    /// order of the checks included, is the same with or without it.
    func requireHolder(
        _ credentials: PresentedCredentials, build id: String, accepts: Set<CredentialKind>, formWorkerID: String? = nil,
        provenWorker: WorkerPrincipal? = nil
    ) async throws -> Holder {
        let hasWorkerCredential = accepts.contains(.worker)
            && (credentials.workerToken != nil || credentials.apiKey != nil)
        if let vmValue = credentials.vmToken, credentials.workerToken == nil || !accepts.contains(.worker) {
            if let holder = try await vmHolder(vmValue, build: id, accepts: accepts) { return holder }
            // A wrong VM token with no worker credential beside it.
            if !hasWorkerCredential { throw GatewayError.forbidden("Invalid VM token") }
        }
        guard hasWorkerCredential else { throw GatewayError.unauthorized() }
        let worker: WorkerPrincipal
        if let provenWorker {
            worker = provenWorker
        } else {
            worker = try await requireWorker(credentials, formWorkerID: formWorkerID)
        }
        switch try await holderCheck(build: id, worker: worker.workerID) {
        case .current(let attempt):
            return Holder(buildID: id, attempt: attempt, workerID: worker.workerID, via: .worker)
        case .earlierAttempt:
            let build = try await orchestrator.build(id)
            throw try await orchestrator.refusal(build: id, attempt: (build?.attempt ?? 1) - 1)
        case .never:
            throw GatewayError.forbidden("Not assigned to this build")
        }
    }

    private func holderCheck(build id: String, worker: String) async throws -> HolderCheck {
        do {
            return try await orchestrator.holderCheck(build: id, worker: worker)
        } catch let error as OrchestratorError where error.code == .buildNotFound {
            throw GatewayError.notFound("Build not found")
        }
    }

    /// `nil` when the token is unknown (so a worker credential may still decide).
    private func vmHolder(_ value: PresentedCredentials.Value, build id: String, accepts: Set<CredentialKind>) async throws -> Holder? {
        guard case .token(let text) = value, let token = SecretToken(presented: text),
            let lookup = try await orchestrator.vmToken(digest: token.digest.bytes)
        else { return nil }
        let kind: CredentialKind = lookup.kind == .vm ? .vmToken : .heartbeatToken
        guard accepts.contains(kind) else { throw GatewayError.forbidden("This token cannot be used here") }
        guard lookup.buildID == id else { throw GatewayError.forbidden("Invalid VM token") }
        guard !lookup.isExpired else { throw GatewayError.unauthorized("VM token expired") }
        return Holder(buildID: id, attempt: lookup.attempt, workerID: nil, via: kind)
    }
}
