public import ArtifactStore
public import Identifiers

/// The vault keeps its sealed blobs in the artifact store, as the `certs` blob of each build: the store's
/// atomic writes mean a crash never leaves half a sealed bundle, and its typed keys keep them in their place.
extension ArtifactStore: SealedBlobStorage {
    public func putSealed(_ bytes: [UInt8], for build: BuildID) async throws {
        _ = try await write(bytes, to: BlobKey(build: build, kind: .certs))
    }

    public func getSealed(for build: BuildID, maxBytes: Int) async throws -> [UInt8] {
        do {
            return try await readAll(BlobKey(build: build, kind: .certs), maxBytes: maxBytes)
        } catch let error as ArtifactStoreError where error.code == .notFound {
            throw VaultError.bundleNotFound(for: build, underlying: error)
        } catch let error as ArtifactStoreError where error.code == .tooLarge {
            throw VaultError.bundleTooLarge(for: build, limit: maxBytes, underlying: error)
        }
    }

    public func removeSealed(for build: BuildID) async throws {
        try await delete(BlobKey(build: build, kind: .certs))
    }
}
