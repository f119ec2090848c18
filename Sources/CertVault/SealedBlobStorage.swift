public import Identifiers

/// Where the vault keeps sealed blobs: one opaque byte string per build.
///
/// The blobs are ciphertext with a small header (see ``CertVault``), so the storage needs no secrecy of its
/// own; it must only keep bytes and give them back. The controller's adapter over the artifact store and the
/// tests' in-memory actor both conform.
///
/// Errors: ``getSealed(for:maxBytes:)`` throws ``VaultError/bundleNotFound(for:underlying:fileID:line:)``
/// when nothing is stored for the build and ``VaultError/bundleTooLarge(for:limit:underlying:fileID:line:)``
/// when the stored blob exceeds `maxBytes`, so that the vault can tell those apart from a failure; any other
/// error is reported by the vault as ``VaultError/Code/storageFailure`` with the original as `underlying`.
public protocol SealedBlobStorage: Sendable {
    /// Stores `bytes` for `build`, replacing what was there. Must not leave a partial blob visible on failure.
    func putSealed(_ bytes: [UInt8], for build: BuildID) async throws
    /// The blob stored for `build`; throws if it is absent or larger than `maxBytes`.
    func getSealed(for build: BuildID, maxBytes: Int) async throws -> [UInt8]
    /// Removes the blob of `build`; succeeds when there is none (idempotent).
    func removeSealed(for build: BuildID) async throws
}
