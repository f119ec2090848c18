import ArtifactStore
import CertVault
import Foundation
import Hummingbird
import Identifiers
import Logging
import NIOCore
import Orchestrator

/// Submit and retry: the use-cases that write to the store, the vault and the database together, and undo
/// what they wrote when any step fails, so a failed submit leaves no row and no file.
extension Gateway {
    /// The consumer of a submit form: `source` streams into the store, `certs` stays in memory (it is small and
    /// must never touch disk in plain text), `platform` is a short field, and everything else is drained.
    private struct SubmitForm: MultipartConsumer {
        enum Part {
            case source(BlobWriter)
            case certs
            case field(String)
            case ignored
        }

        let buildID: BuildID
        let store: ArtifactStore
        let configuration: GatewayConfiguration
        var source: BlobWriter?
        var sourceHadBytes = false
        var certs: [UInt8]?
        var fields: [String: FormFieldBuffer] = [:]
        var current: Part = .ignored

        mutating func beginPart(name: String, filename: String?) async throws {
            switch name {
            case "source":
                guard source == nil else { throw GatewayError.badRequest("Only one source file is accepted") }
                let writer = try await store.makeWriter(for: BlobKey(build: buildID, kind: .source), limit: configuration.maxSourceBytes)
                source = writer
                current = .source(writer)
            case "certs":
                guard certs == nil else { throw GatewayError.badRequest("Only one certs file is accepted") }
                certs = []
                current = .certs
            case "platform":
                fields["platform"] = FormFieldBuffer()
                current = .field("platform")
            default:
                // profile, appleId, applePassword and anything else: accepted and dropped, never stored or logged.
                current = .ignored
            }
        }

        mutating func body(_ chunk: ByteBuffer) async throws {
            switch current {
            case .source(let writer):
                sourceHadBytes = true
                try await writer.write(chunk)
            case .certs:
                guard Int64((certs?.count ?? 0) + chunk.readableBytes) <= configuration.maxCertsBytes else {
                    certs?.resetAndZero()
                    throw GatewayError.payloadTooLarge("Certs file too large")
                }
                certs?.append(contentsOf: chunk.readableBytesView)
            case .field(let name):
                try fields[name]?.append(chunk)
            case .ignored:
                break
            }
        }

        mutating func endPart() async throws { current = .ignored }
    }

    func submit(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        _ = try MultipartReader.boundary(of: request)
        let buildID = BuildID.random()
        var form = SubmitForm(buildID: buildID, store: store, configuration: configuration)
        var sealed: SealedCertsReference?
        do {
            try await MultipartReader.read(request, into: &form)
            guard let source = form.source, form.sourceHadBytes else { throw GatewayError.badRequest("Source file required") }
            let platform = form.fields["platform"]?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard platform == "ios" || platform == "android" else {
                throw GatewayError.badRequest("Valid platform required (ios|android)")
            }
            let info = try await source.commit(
                expectedSHA256: try ClientChecksum.expected(in: request),
                inspect: ArchiveLimits.defaults(forUploadLimit: configuration.maxSourceBytes))
            if let certs = form.certs, !certs.isEmpty {
                try CertsBundle.inspect(certs, uploadLimit: configuration.maxCertsBytes)
                let wrapped = try await vault.seal(certs, for: buildID)
                sealed = SealedCertsReference(wrappedKey: wrapped.bytes, keyVersion: wrapped.keyVersion)
            }
            form.certs?.resetAndZero()
            let token = SecretToken.generate()
            let submittedAt = try await orchestrator.submit(
                NewBuild(
                    id: buildID.rawValue, platform: platform, accessTokenDigest: token.digest.bytes,
                    sourceSize: info.size, sourceSHA256: info.sha256, sealedCerts: sealed))
            queueSignal.signal()
            return .json([
                "id": .string(buildID.rawValue), "status": "pending", "platform": .string(platform),
                "submitted_at": .int(submittedAt.millisecondsSince1970), "access_token": .string(token.reveal),
            ])
        } catch {
            form.certs?.resetAndZero()
            await form.source?.abort()
            try? await store.delete(BlobKey(build: buildID, kind: .source))
            if sealed != nil { try? await vault.destroy(for: buildID) }
            throw error
        }
    }

    func retry(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        let id = pathBuildID(context)
        try await authenticator.requireOperatorOrSubmitter(credentials, build: id)
        let original = try await existingBuild(id)
        guard let originalID = BuildID(original.id), original.hasSource,
            try await store.size(of: BlobKey(build: originalID, kind: .source)) != nil
        else {
            throw GatewayError.badRequest("Original build source no longer available. Please submit a new build.")
        }
        let newID = BuildID.random()
        var sealed: SealedCertsReference?
        switch original.certsState {
        case .destroyed:
            throw GatewayError.badRequest("Original build certs no longer available. Please submit a new build.")
        case .sealed:
            guard let wrappedKey = original.certsWrappedKey, let version = original.certsKeyVersion else {
                throw GatewayError.badRequest("Original build certs no longer available. Please submit a new build.")
            }
            let resealed = try await vault.reseal(
                from: originalID, wrappedKey: WrappedDataKey(keyVersion: version, bytes: wrappedKey), to: newID)
            sealed = SealedCertsReference(wrappedKey: resealed.bytes, keyVersion: resealed.keyVersion)
        case .none:
            break
        }
        do {
            let info = try await store.copy(BlobKey(build: originalID, kind: .source), to: BlobKey(build: newID, kind: .source))
            let token = SecretToken.generate()
            let submittedAt = try await orchestrator.submit(
                NewBuild(
                    id: newID.rawValue, platform: original.platform, accessTokenDigest: token.digest.bytes,
                    sourceSize: info.size, sourceSHA256: info.sha256, sealedCerts: sealed,
                    originalBuildID: original.id))
            queueSignal.signal()
            return .json([
                "id": .string(newID.rawValue), "status": "pending", "platform": .string(original.platform),
                "submitted_at": .int(submittedAt.millisecondsSince1970), "access_token": .string(token.reveal),
                "original_build_id": .string(original.id),
            ])
        } catch {
            try? await store.delete(BlobKey(build: newID, kind: .source))
            if sealed != nil { try? await vault.destroy(for: newID) }
            throw error
        }
    }
}

extension Array where Element == UInt8 {
    /// Overwrites the bytes before dropping them: the certs plaintext must not linger in freed memory.
    mutating func resetAndZero() {
        withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { memset(base, 0, buffer.count) }
        }
        removeAll()
    }
}
