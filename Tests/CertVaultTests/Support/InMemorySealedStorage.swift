import CertVault
import Identifiers

/// The tests' ``SealedBlobStorage``: a dictionary behind an actor, with hooks to tamper with what it holds.
actor InMemorySealedStorage: SealedBlobStorage {
    private(set) var blobs: [BuildID: [UInt8]] = [:]
    /// When set, every call throws it (to test how the vault reports storage failures).
    var failure: (any Error)?

    func putSealed(_ bytes: [UInt8], for build: BuildID) async throws {
        if let failure { throw failure }
        blobs[build] = bytes
    }

    func getSealed(for build: BuildID, maxBytes: Int) async throws -> [UInt8] {
        if let failure { throw failure }
        guard let blob = blobs[build] else { throw VaultError.bundleNotFound(for: build) }
        guard blob.count <= maxBytes else { throw VaultError.bundleTooLarge(for: build, limit: maxBytes) }
        return blob
    }

    func removeSealed(for build: BuildID) async throws {
        if let failure { throw failure }
        blobs[build] = nil
    }

    /// Replaces a stored blob outright, as an attacker with the disk could.
    func overwrite(_ build: BuildID, with bytes: [UInt8]) { blobs[build] = bytes }

    func setFailure(_ error: (any Error)?) { failure = error }
}

struct StorageOutage: Error, CustomStringConvertible {
    var description: String { "disk on fire" }
}
