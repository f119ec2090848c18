import ArtifactStore
import CertVault
import Foundation
import Hummingbird
import Identifiers
import Logging
import NIOCore
import Orchestrator

/// The calls of a worker or its VM for the build attempt they hold.
extension Gateway {
    /// The holder of the build's live attempt; a holder of a finished, cancelled or superseded attempt gets 409.
    func requireLiveHolder(
        _ credentials: PresentedCredentials, build id: String, accepts: Set<CredentialKind>
    ) async throws -> Authenticator.Holder {
        let holder = try await authenticator.requireHolder(credentials, build: id, accepts: accepts)
        try await ensureLive(holder)
        return holder
    }

    /// Throws the reason (409) when the holder's attempt is no longer the build's live one.
    func ensureLive(_ holder: Authenticator.Holder) async throws {
        let build = try await existingBuild(holder.buildID)
        guard build.status.isActive, build.attempt == holder.attempt else {
            throw try await orchestrator.refusal(build: holder.buildID, attempt: holder.attempt)
        }
    }

    func downloadSourceAsHolder(
        _ request: Request, _ context: GatewayRequestContext, _ credentials: PresentedCredentials, accepts: Set<CredentialKind>
    ) async throws -> Response {
        let id = pathBuildID(context)
        _ = try await requireLiveHolder(credentials, build: id, accepts: accepts)
        return try await streamSource(request, build: try await existingBuild(id))
    }

    func certsZip(_ context: GatewayRequestContext, _ credentials: PresentedCredentials, accepts: Set<CredentialKind>) async throws -> Response {
        let id = pathBuildID(context)
        let holder = try await requireLiveHolder(credentials, build: id, accepts: accepts)
        var plaintext = try await openCerts(build: id, holder: holder, route: "certs")
        defer { plaintext.resetAndZero() }
        var buffer = ByteBuffer()
        buffer.writeBytes(plaintext)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/zip", .contentDisposition: "attachment; filename=\"\(id)-certs.zip\"",
                .contentLength: "\(plaintext.count)", .cacheControl: "no-store",
            ],
            body: ResponseBody(byteBuffer: buffer))
    }

    func certsSecure(_ context: GatewayRequestContext, _ credentials: PresentedCredentials, accepts: Set<CredentialKind>) async throws -> Response {
        let id = pathBuildID(context)
        let holder = try await requireLiveHolder(credentials, build: id, accepts: accepts)
        var plaintext = try await openCerts(build: id, holder: holder, route: "certs-secure")
        defer { plaintext.resetAndZero() }
        var bundle = try CertsBundle.read(plaintext, uploadLimit: configuration.maxCertsBytes)
        defer { bundle.zero() }
        var response = Response.json(bundle.secureJSON)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Opens the sealed bundle in memory for the holder, and records the release.
    private func openCerts(build id: String, holder: Authenticator.Holder, route: String) async throws -> [UInt8] {
        let build = try await existingBuild(id)
        guard build.certsState == .sealed, let wrappedKey = build.certsWrappedKey, let version = build.certsKeyVersion,
            let buildID = BuildID(id)
        else { throw GatewayError.notFound("Certs not found") }
        var plaintext = try await vault.open(for: buildID, wrappedKey: WrappedDataKey(keyVersion: version, bytes: wrappedKey))
        do {
            try await orchestrator.recordCertsOpened(build: id, attempt: holder.attempt, worker: holder.workerID, via: route)
        } catch {
            // No release without its audit event, and no plaintext left behind when there is none.
            plaintext.resetAndZero()
            throw error
        }
        logger.info("certs released", metadata: [
            "build_id": "\(id)", "attempt": "\(holder.attempt)", "via": "\(holder.via.rawValue)", "route": "\(route)",
        ])
        return plaintext
    }

    struct LogPost: Decodable {
        struct Line: Decodable {
            let level: String
            let message: String
        }
        let level: String?
        let message: String?
        let logs: [Line]?
    }

    func postLogs(
        _ request: Request, _ context: GatewayRequestContext, _ credentials: PresentedCredentials, accepts: Set<CredentialKind>
    ) async throws -> Response {
        let id = pathBuildID(context)
        let holder = try await authenticator.requireHolder(credentials, build: id, accepts: accepts)
        let invalid = "Invalid body. Expected { level, message } or { logs: [...] }"
        let body = try await JSONBody.decode(LogPost.self, from: request, invalid: invalid)
        func line(_ level: String, _ message: String) throws -> (LogLevel, String) {
            guard let parsed = LogLevel(rawValue: level.lowercased()) else { throw GatewayError.badRequest(invalid) }
            return (parsed, message)
        }
        let lines: [(LogLevel, String)]
        if let logs = body.logs {
            lines = try logs.map { try line($0.level, $0.message) }
        } else if let level = body.level, let message = body.message {
            lines = [try line(level, message)]
        } else {
            throw GatewayError.badRequest(invalid)
        }
        try await orchestrator.appendLogs(build: id, attempt: holder.attempt, lines: lines)
        if body.logs != nil { return .json(["success": true, "count": .int(lines.count)]) }
        return .json(["success": true])
    }

    struct TelemetryPost: Decodable {
        let type: String?
        let data: AnyJSON?
    }

    func telemetry(
        _ request: Request, _ context: GatewayRequestContext, _ credentials: PresentedCredentials, accepts: Set<CredentialKind>
    ) async throws -> Response {
        let id = pathBuildID(context)
        let holder = try await authenticator.requireHolder(credentials, build: id, accepts: accepts)
        let body = try await JSONBody.decode(TelemetryPost.self, from: request, invalid: "Invalid telemetry body")
        var cpu: Double?
        var memory: Double?
        switch body.type {
        case "heartbeat":
            cpu = body.data?["metrics"]?["cpu_percent"]?.number
            memory = body.data?["metrics"]?["memory_mb"]?.number
        case "cpu_snapshot":
            cpu = body.data?["cpu_percent"]?.number
            memory = body.data?["memory_mb"]?.number
        default:
            break
        }
        try await orchestrator.telemetry(build: id, attempt: holder.attempt, cpuPercent: cpu, memoryMB: memory)
        return .json(["status": "ok"])
    }

    struct HeartbeatPost: Decodable {
        let progress: Double?
    }

    func buildHeartbeat(
        _ request: Request, _ context: GatewayRequestContext, _ credentials: PresentedCredentials, accepts: Set<CredentialKind>
    ) async throws -> Response {
        let id = pathBuildID(context)
        let holder = try await authenticator.requireHolder(credentials, build: id, accepts: accepts)
        let body = try await JSONBody.decode(HeartbeatPost.self, from: request, invalid: "Invalid heartbeat body")
        try await heartbeat(build: id, attempt: holder.attempt, progress: body.progress)
        return .json(["status": "ok", "timestamp": .int(Date().millisecondsSince1970)])
    }

    /// A heartbeat of `attempt`; one from the attempt that completed the build answers 200 and changes nothing,
    /// because the newest worker's monitor sends one before it notices its VM has finished.
    func heartbeat(build id: String, attempt: Int, progress: Double?) async throws {
        do {
            try await orchestrator.heartbeat(build: id, attempt: attempt, progress: progress)
        } catch let error as OrchestratorError where error.code == .buildFinished {
            let build = try await existingBuild(id)
            guard build.status == .completed, build.attempt == attempt else { throw error }
        }
    }

    struct AuthenticatePost: Decodable {
        let otp: String?
    }

    func authenticateVM(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let id = pathBuildID(context)
        let body = try? await JSONBody.decode(AuthenticatePost.self, from: request, invalid: "Invalid OTP")
        let invalid = GatewayError.unauthorized("Invalid OTP")
        guard !id.isEmpty, let text = body?.otp, let otp = SecretToken(presented: text) else { throw invalid }
        let vmToken = SecretToken.generate()
        let ttl = orchestrator.configuration.maxBuildDuration
        guard try await orchestrator.exchangeOTP(build: id, otpDigest: otp.digest.bytes, vmTokenDigest: vmToken.digest.bytes, vmTokenTTL: ttl)
        else { throw invalid }
        let expiresAt = Date().addingTimeInterval(ttl.secondsValue)
        return .json(["vm_token": .string(vmToken.reveal), "expires_at": .int(expiresAt.millisecondsSince1970)])
    }

    func vmReady(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        let id = pathBuildID(context)
        let holder = try await authenticator.requireHolder(credentials, build: id, accepts: [.vmToken])
        let readyAt = try await orchestrator.markVMReady(build: id, attempt: holder.attempt)
        return .json(["success": true, "vm_ready_at": .int(readyAt.millisecondsSince1970)])
    }

    /// Anonymous: the newest worker polls it without credentials, so it hands out only a heartbeat-only token
    /// for the live attempt, never the VM token.
    func vmStatus(_ context: GatewayRequestContext) async throws -> Response {
        let id = pathBuildID(context)
        guard !id.isEmpty, let live = try await orchestrator.liveAttempt(build: id) else {
            throw GatewayError.notFound("No active build attempt")
        }
        guard let readyAt = live.vmReadyAt else { return .json(["vm_ready": false]) }
        let token = SecretToken.generate()
        try await orchestrator.issueHeartbeatToken(
            build: id, attempt: live.attempt, digest: token.digest.bytes, ttl: orchestrator.configuration.maxBuildDuration)
        return .json(["vm_ready": true, "vm_token": .string(token.reveal), "vm_ready_at": .int(readyAt.millisecondsSince1970)])
    }
}
