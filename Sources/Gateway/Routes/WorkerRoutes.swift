import Foundation
import Hummingbird
import Identifiers
import Logging
import Orchestrator
import ServiceLifecycle

/// Workers: registration, the poll, and the calls that name their build in the body.
extension Gateway {
    struct RegisterPost: Decodable {
        let name: String?
        let capabilities: AnyJSON?
        let id: String?
        let active_build_count: Int?
    }

    func register(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let body = try await JSONBody.decode(RegisterPost.self, from: request, invalid: "Name and capabilities required")
        guard let name = body.name?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty, name.utf8.count <= 200,
            let capabilities = body.capabilities, case .object = capabilities
        else { throw GatewayError.badRequest("Name and capabilities required") }
        var proposedID: String?
        if let id = body.id, !id.isEmpty {
            guard let valid = WorkerID(id) else { throw GatewayError.badRequest("Invalid worker id") }
            proposedID = valid.rawValue
        }
        let token = SecretToken.generate()
        let result = try await orchestrator.register(
            Registration(
                proposedID: proposedID, name: name, capabilitiesJSON: capabilities.jsonValue.serialized(),
                activeBuildCount: body.active_build_count, tokenDigest: token.digest.bytes))
        if result.buildsRequeued > 0 { queueSignal.signal() }
        return .json([
            "id": .string(result.workerID), "access_token": .string(token.reveal),
            "status": .string(result.isNew ? "registered" : "re-registered"),
            "baseImageId": .string(configuration.baseImageID),
            "message": .string(result.isNew ? "Worker registered" : "Worker re-registered"),
        ])
    }

    func poll(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        let worker = try await authenticator.requireWorker(credentials)
        let accessToken = try await currentWorkerToken(worker)
        var wait = Duration.zero
        if let text = request.uri.queryParameters.get("wait") {
            guard let seconds = Double(text), seconds >= 0, seconds.isFinite else { throw GatewayError.badRequest("Invalid wait") }
            wait = min(.milliseconds(Int64(min(seconds, 86_400) * 1000)), configuration.longPollMaxWait)
        }
        let deadline = ContinuousClock.now + wait
        let platforms = try await declaredPlatforms(of: worker.workerID)
        claiming: while true {
            let generation = queueSignal.generation
            let otp = SecretToken.generate()
            let job = try await orchestrator.poll(
                PollRequest(
                    workerID: worker.workerID, platforms: platforms, onlyIOSWithCerts: worker.viaAPIKey,
                    otpDigest: otp.digest.bytes))
            if let job {
                return .json([
                    "job": [
                        "id": .string(job.buildID), "platform": .string(job.platform),
                        "source_url": .string("/api/builds/\(job.buildID)/source"),
                        "certs_url": .string(job.hasCerts ? "/api/builds/\(job.buildID)/certs" : nil),
                        "baseImageId": .string(configuration.baseImageID), "otp": .string(otp.reveal),
                        "submitted_at": .int(job.submittedAt.millisecondsSince1970),
                    ],
                    "access_token": .string(accessToken),
                ])
            }
            // Nothing yet: wait for a notification (any process queued a build), or for a tick of the process's
            // shared re-check that finds a pending build (a missed notification). Only then try a claim again.
            while true {
                let now = ContinuousClock.now
                let remaining = deadline - now
                // On SIGTERM a held long-poll answers "no job" at once, so it does not hold up the shutdown.
                guard remaining > .zero, !Task.isCancelled, !Task.isShuttingDownGracefully else { break claiming }
                let signal = queueSignal
                let untilTick = pendingRecheck.nextTick(after: now) - now
                await withGracefulShutdownHandler {
                    await signal.wait(after: generation, timeout: min(remaining, untilTick))
                } onGracefulShutdown: {
                    signal.signal()
                }
                if signal.generation != generation { continue claiming }
                guard ContinuousClock.now < deadline else { break claiming }
                let orchestrator = orchestrator
                if await pendingRecheck.pendingBuildExists({ try await orchestrator.pendingBuildExists() }) {
                    continue claiming
                }
            }
        }
        return .json(["job": .null, "access_token": .string(accessToken)])
    }

    /// The token to hand back on a poll: a fresh one when less than a third of the presented one's lifetime
    /// is left (the presented one stays valid until its own expiry), else the presented one. `nil` on the
    /// API-key path, whose old workers ignore it.
    private func currentWorkerToken(_ worker: Authenticator.WorkerPrincipal) async throws -> String? {
        guard let (clearText, lookup) = worker.token else { return nil }
        let lifetime = orchestrator.configuration.workerTokenTTL.secondsValue
        guard lookup.expiresAt.timeIntervalSinceNow < lifetime / 3 else { return clearText }
        let fresh = SecretToken.generate()
        try await orchestrator.issueWorkerToken(worker: worker.workerID, digest: fresh.digest.bytes)
        return fresh.reveal
    }

    /// The platforms a worker declared, when matching is strict; `nil` (any) otherwise or when it declared none.
    private func declaredPlatforms(of worker: String) async throws -> [String]? {
        guard orchestrator.configuration.platformMatching == .strict else { return nil }
        return try await orchestrator.declaredPlatforms(worker: worker)
    }

    struct BuildReference: Decodable {
        let build_id: String?
        let error: String?
        let reason: String?
    }

    /// The build named in a worker call's JSON body, with the caller proven to hold it.
    private func heldBuild(_ request: Request, _ credentials: PresentedCredentials) async throws -> (Authenticator.Holder, BuildReference) {
        // Who is asking comes before what they ask: an anonymous or wrong caller learns nothing from the body.
        let worker = try await authenticator.requireWorker(credentials)
        let body = try await JSONBody.decode(BuildReference.self, from: request, invalid: "build_id required")
        guard let text = body.build_id, !text.isEmpty else { throw GatewayError.badRequest("build_id required") }
        let id = BuildID(text)?.rawValue ?? ""
        // The worker proven above, not its token looked up a second time.
        let holder = try await authenticator.requireHolder(credentials, build: id, accepts: [.worker], provenWorker: worker)
        return (holder, body)
    }

    func workerFail(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        // As `heldBuild`: who is asking comes before what they ask.
        let worker = try await authenticator.requireWorker(credentials)
        let body = try await JSONBody.decode(BuildReference.self, from: request, invalid: "build_id required")
        guard let text = body.build_id, !text.isEmpty else { throw GatewayError.badRequest("build_id required") }
        let id = BuildID(text)?.rawValue ?? ""
        let message = body.error.flatMap { $0.isEmpty ? nil : String($0.prefix(4000)) } ?? "Build failed"
        // The holder's own call, in one statement guarded by the holder. Taken only where `requireHolder` would
        // decide by the worker too (a VM token beside an API-key worker is judged as a VM token there), and a
        // statement that matches nothing changes nothing: every other caller gets the same checks and answers
        // as before, from `requireHolder` and the attempt-guarded `fail` below.
        if credentials.vmToken == nil || credentials.workerToken != nil,
            try await orchestrator.failHeld(build: id, worker: worker.workerID, message: message)
        {
            return .json(["success": true])
        }
        let holder = try await authenticator.requireHolder(credentials, build: id, accepts: [.worker], provenWorker: worker)
        try await orchestrator.fail(build: holder.buildID, attempt: holder.attempt, message: message)
        return .json(["success": true])
    }

    func workerHeartbeat(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        let (holder, _) = try await heldBuild(request, credentials)
        try await heartbeat(build: holder.buildID, attempt: holder.attempt, progress: nil)
        return .json(["status": "ok", "timestamp": .int(Date().millisecondsSince1970)])
    }

    func workerAbandon(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        let (holder, body) = try await heldBuild(request, credentials)
        try await orchestrator.abandon(build: holder.buildID, attempt: holder.attempt, reason: body.reason.map { String($0.prefix(1000)) })
        queueSignal.signal()
        return .json(["success": true])
    }

    /// The worker unregisters itself: by a valid worker token, or by the API key plus its token that expired
    /// within the last 24 hours (the newest worker's token has often lapsed while it built).
    func unregisterSelf(_ credentials: PresentedCredentials) async throws -> Response {
        guard case .token(let text)? = credentials.workerToken else {
            if credentials.workerToken == nil, credentials.apiKey != nil, !authenticator.isValidAPIKey(credentials.apiKey) {
                throw GatewayError.forbidden("Invalid API key")
            }
            throw GatewayError.unauthorized("Worker token required")
        }
        guard let token = SecretToken(presented: text), let lookup = try await orchestrator.workerToken(digest: token.digest.bytes),
            !lookup.isRevoked
        else { throw GatewayError.unauthorized("Invalid or expired worker token") }
        if lookup.isExpired {
            let grace = OrchestratorConfiguration.expiredTokenUnregisterGrace.secondsValue
            guard authenticator.isValidAPIKey(credentials.apiKey), -lookup.expiresAt.timeIntervalSinceNow <= grace else {
                throw GatewayError.unauthorized("Invalid or expired worker token")
            }
        }
        let count = try await orchestrator.unregister(worker: lookup.workerID)
        if count > 0 { queueSignal.signal() }
        return .json(["success": true, "builds_reassigned": .int(count)])
    }

    func unregisterByOperator(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let id = context.parameters.get("id").flatMap { WorkerID($0)?.rawValue } ?? ""
        let count = try await orchestrator.unregister(worker: id)
        if count > 0 { queueSignal.signal() }
        return .json(["success": true, "builds_reassigned": .int(count)])
    }

    func revokeWorker(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let id = context.parameters.get("id").flatMap { WorkerID($0)?.rawValue } ?? ""
        let count = try await orchestrator.revoke(worker: id)
        if count > 0 { queueSignal.signal() }
        // The request's logger: the line carries the request id, beside the route's `revocation` security line.
        context.logger.notice("worker revoked", metadata: ["worker_id": "\(id)", "builds_reassigned": "\(count)"])
        return .json(["success": true, "builds_reassigned": .int(count)])
    }

    func listWorkers(_ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let workers = try await orchestrator.listWorkers()
        return .json(["workers": .array(workers.map { worker in
            [
                "id": .string(worker.id), "name": .string(worker.name), "status": .string(worker.status),
                "last_seen_at": .int(worker.lastSeenAt.millisecondsSince1970),
                "registered_at": .int(worker.registeredAt.millisecondsSince1970),
                "current_build_id": .string(worker.currentBuildID),
                "builds_completed": .int(worker.buildsCompleted), "builds_failed": .int(worker.buildsFailed),
            ]
        })])
    }

    func workerStats(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let id = context.parameters.get("id").flatMap { WorkerID($0)?.rawValue } ?? ""
        guard let worker = try await orchestrator.worker(id) else { throw GatewayError.notFound("Worker not found") }
        return .json([
            "totalBuilds": .int(worker.buildsCompleted + worker.buildsFailed),
            "successfulBuilds": .int(worker.buildsCompleted), "failedBuilds": .int(worker.buildsFailed),
            "workerName": .string(worker.name), "status": .string(worker.status),
            "uptime": .string(Uptime.format(seconds: max(0, Int(Date().timeIntervalSince(worker.registeredAt))))),
        ])
    }
}

/// `"2d 3h"`, `"3h 5m"`, `"5m 2s"`, `"9s"`: the two largest units, as the old controller wrote uptime.
enum Uptime {
    static func format(seconds: Int) -> String {
        let days = seconds / 86_400, hours = seconds % 86_400 / 3600, minutes = seconds % 3600 / 60, rest = seconds % 60
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(minutes)m" }
        if minutes > 0 { return "\(minutes)m \(rest)s" }
        return "\(rest)s"
    }
}
