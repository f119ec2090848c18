import ArtifactStore
import CertVault
import Foundation
import Hummingbird
import Identifiers
import Logging
import NIOCore
import Orchestrator

/// Result uploads: the worker's form (`/api/workers/upload`) and the VM's (`/api/builds/:id/artifact`).
///
/// The uploader is proven to hold the build's live attempt **before** a byte of the file is accepted; the file
/// streams into a temp file in the store; it is put in place while the build's row is locked for that attempt,
/// and the build completes in the same transaction. Then the build's certs are destroyed.
extension Gateway {
    /// The old and new workers' upload form: `build_id`, `worker_id`, `success`, `error_message`, file `result`.
    private struct WorkerUploadForm: MultipartConsumer {
        let gateway: Gateway
        let credentials: PresentedCredentials
        /// The worker the headers proved before the body was read, if they named one (saves a second token lookup).
        let provenWorker: Authenticator.WorkerPrincipal?
        var fields: [String: FormFieldBuffer] = [:]
        var currentField: String?
        var holder: Authenticator.Holder?
        var writer: BlobWriter?
        var fileStarted = false
        var inFile = false
        var firstBytes: [UInt8] = []

        mutating func beginPart(name: String, filename: String?) async throws {
            if name == "result" || name == "artifact" {
                guard !fileStarted else { throw GatewayError.badRequest("Only one result file is accepted") }
                fileStarted = true
                inFile = true
                guard let text = fields["build_id"]?.text, !text.isEmpty else {
                    throw GatewayError.badRequest("build_id required (it must come before the result file)")
                }
                let id = BuildID(text)?.rawValue ?? ""
                let holder = try await gateway.authenticator.requireHolder(
                    credentials, build: id, accepts: [.worker], formWorkerID: fields["worker_id"]?.text,
                    provenWorker: provenWorker)
                self.holder = holder
                guard fields["success"]?.text.lowercased() != "false" else { return }
                try await gateway.ensureLive(holder)
                writer = try await gateway.store.makeWriter(
                    for: BlobKey(build: BuildID(id)!, kind: .result), limit: gateway.configuration.maxResultBytes)
            } else {
                currentField = name
                fields[name] = FormFieldBuffer()
            }
        }

        mutating func body(_ chunk: ByteBuffer) async throws {
            if inFile {
                if firstBytes.count < 4 { firstBytes.append(contentsOf: chunk.readableBytesView.prefix(4 - firstBytes.count)) }
                try await writer?.write(chunk)
            } else if let currentField {
                try fields[currentField]?.append(chunk)
            }
        }

        mutating func endPart() async throws {
            inFile = false
            currentField = nil
        }
    }

    func uploadResult(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        // Authenticate what the headers carry before reading a byte of the body (old workers name themselves
        // only in the form, so their id is checked when the form is read).
        var provenWorker: Authenticator.WorkerPrincipal?
        if credentials.workerToken != nil || credentials.workerID != nil {
            // A token, or an id in the headers, decides who the worker is whatever the form says
            // (`requireWorker` prefers both to the form's worker_id), so this principal holds for the form too.
            provenWorker = try await authenticator.requireWorker(credentials)
        } else if credentials.apiKey == nil {
            throw GatewayError.unauthorized()
        } else if !authenticator.isValidAPIKey(credentials.apiKey) {
            throw GatewayError.forbidden("Invalid API key")
        }
        var form = WorkerUploadForm(gateway: self, credentials: credentials, provenWorker: provenWorker)
        do {
            try await MultipartReader.read(request, into: &form)
        } catch {
            await form.writer?.abort()
            throw error
        }
        let holder: Authenticator.Holder
        if let proven = form.holder {
            holder = proven
        } else {
            guard let text = form.fields["build_id"]?.text, !text.isEmpty else {
                throw GatewayError.badRequest("build_id required")
            }
            holder = try await authenticator.requireHolder(
                credentials, build: BuildID(text)?.rawValue ?? "", accepts: [.worker],
                formWorkerID: form.fields["worker_id"]?.text, provenWorker: provenWorker)
        }
        let success = form.fields["success"]?.text.trimmingCharacters(in: .whitespaces).lowercased() == "true"
        guard success else {
            await form.writer?.abort()
            let text = form.fields["error_message"]?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let message = text.isEmpty ? "Build failed" : String(text.prefix(4000))
            try await orchestrator.fail(build: holder.buildID, attempt: holder.attempt, message: message)
            await destroyCertsIfDue(build: holder.buildID)
            return .json(["status": "failed"])
        }
        guard let writer = form.writer, form.fileStarted else {
            // The VM already uploaded through /artifact: the worker's own success report changes nothing.
            let build = try await existingBuild(holder.buildID)
            if build.status == .completed, build.attempt == holder.attempt { return .json(["status": "success"]) }
            if build.status.isFinished { throw try await orchestrator.refusal(build: holder.buildID, attempt: holder.attempt) }
            throw GatewayError.badRequest("Result file required")
        }
        try await completeWithResult(
            holder: holder, writer: writer, firstBytes: form.firstBytes, expectedSHA256: try ClientChecksum.expected(in: request))
        return .json(["status": "success"])
    }

    /// The VM's upload: multipart with one file part `artifact`.
    private struct ArtifactForm: MultipartConsumer {
        let writer: BlobWriter
        var sawFile = false
        var inFile = false
        var firstBytes: [UInt8] = []

        mutating func beginPart(name: String, filename: String?) async throws {
            inFile = name == "artifact" || name == "result"
            if inFile {
                guard !sawFile else { throw GatewayError.badRequest("Only one artifact file is accepted") }
                sawFile = true
            }
        }

        mutating func body(_ chunk: ByteBuffer) async throws {
            guard inFile else { return }
            if firstBytes.count < 4 { firstBytes.append(contentsOf: chunk.readableBytesView.prefix(4 - firstBytes.count)) }
            try await writer.write(chunk)
        }

        mutating func endPart() async throws { inFile = false }
    }

    func uploadArtifact(_ request: Request, _ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        let id = pathBuildID(context)
        let holder = try await requireLiveHolder(credentials, build: id, accepts: [.vmToken])
        _ = try MultipartReader.boundary(of: request)
        let writer = try await store.makeWriter(
            for: BlobKey(build: BuildID(id)!, kind: .result), limit: configuration.maxResultBytes)
        var form = ArtifactForm(writer: writer)
        do {
            try await MultipartReader.read(request, into: &form)
            guard form.sawFile else { throw GatewayError.badRequest("Artifact file required") }
        } catch {
            await writer.abort()
            throw error
        }
        try await completeWithResult(
            holder: holder, writer: writer, firstBytes: form.firstBytes, expectedSHA256: try ClientChecksum.expected(in: request))
        return .json(["success": true])
    }

    /// Puts the streamed result in place under the build's row lock, completes the build, destroys its certs.
    private func completeWithResult(
        holder: Authenticator.Holder, writer: BlobWriter, firstBytes: [UInt8], expectedSHA256: String?
    ) async throws {
        do {
            // .ipa and .apk files are ZIPs: a local file header, or the end record of an empty archive.
            guard firstBytes == [0x50, 0x4b, 0x03, 0x04] || firstBytes == [0x50, 0x4b, 0x05, 0x06] else {
                throw GatewayError.badRequest("Result must be an .ipa or .apk (ZIP) file")
            }
            try await orchestrator.complete(build: holder.buildID, attempt: holder.attempt) {
                let info = try await writer.commit(expectedSHA256: expectedSHA256, inspect: nil)
                return ResultFile(size: info.size, sha256: info.sha256)
            }
        } catch {
            await writer.abort()
            throw error
        }
        await destroyCertsIfDue(build: holder.buildID)
    }

    /// Destroys a build's sealed certs when the vault's policy says so: at once for a completed build, after
    /// the grace period for a failed or cancelled one (the sweeper catches those, and any missed here).
    func destroyCertsIfDue(build id: String) async {
        do {
            guard let build = try await orchestrator.build(id), build.certsState == .sealed, build.status == .completed,
                let buildID = BuildID(id)
            else { return }
            try await vault.destroy(for: buildID)
            try await orchestrator.markCertsDestroyed(id, reason: "build completed")
        } catch {
            logger.warning("certs destruction deferred to the sweeper", metadata: ["build_id": "\(id)"])
        }
    }

    /// The sweeper's share of the vault's policy: destroys every bundle that is due.
    public func destroyDueCerts() async {
        do {
            for (id, status) in try await orchestrator.buildsWithCertsToDestroy(grace: configuration.certsGrace) {
                guard let buildID = BuildID(id) else { continue }
                try await vault.destroy(for: buildID)
                let reason = status == .completed ? "build completed" : "grace period after \(status.rawValue) build ended"
                try await orchestrator.markCertsDestroyed(id, reason: reason)
            }
        } catch {
            logger.error("certs sweep failed", metadata: ["error": "\(DatabaseErrorSummary.describe(error))"])
        }
    }
}
