public import Identifiers

/// Signing-certificate bundles at rest, sealed per build so that a stolen disk, database dump or backup alone
/// reveals nothing.
///
/// Envelope encryption, AES-256-GCM through OpenSSL:
/// - ``seal(_:for:)`` draws a fresh 256-bit data key and nonce, encrypts the bundle with the build id bound in
///   as additional data, and stores the blob. The data key is wrapped by the current master key (with the
///   build id and key version bound in) and **returned**, not stored: the caller keeps it in PostgreSQL.
///   The disk holds only the blob, the database only the wrapped key, and opening needs both plus the master
///   key, which lives in neither.
/// - ``open(for:wrappedKey:)`` reverses it; any change to blob, key, nonce, tag or build id fails with
///   ``VaultError/Code/sealedBundleCorrupt``.
/// - Deleting the wrapped key's row crypto-shreds the bundle; ``destroy(for:)`` also removes the blob.
///
/// Byte layouts of the blob and the wrapped key: see `Envelope.swift` (format 1: `"FACV" 0x01 | nonce(12) |
/// ciphertext | tag(16)` and `0x01 | nonce(12) | encrypted key(32) | tag(16)`).
///
/// Random 96-bit nonces keep the chance of a repeat under 2⁻³² for up to 2³² wraps per master-key version,
/// far beyond a build farm's lifetime; each data key encrypts exactly one bundle.
///
/// Memory: data keys and plaintext are `[UInt8]`s overwritten when the vault is done with them; the returned
/// plaintext belongs to the caller, who should ``VaultMemory/wipe(_:)`` it after use. See ``VaultMemory`` for
/// what Swift makes impossible to wipe.
public struct CertVault: Sendable {
    /// The default largest bundle accepted: 10 MiB (a real bundle is a few hundred KiB).
    public static let maxBundleBytes = 10 * 1024 * 1024
    /// The highest limit `init` accepts: what a 32-bit EVP length can hold once the blob's framing is added.
    public static let maxAcceptedBundleLimit = Int(Int32.max) - Envelope.blobOverhead

    /// The master keys.
    public let keyRing: KeyRing
    /// The largest bundle this vault seals or opens, in plaintext bytes.
    public let maxBundleBytes: Int
    private let storage: any SealedBlobStorage

    /// A vault over `storage` with the keys of `keyRing`.
    ///
    /// - Parameter maxBundleBytes: the largest bundle accepted, in bytes: positive and below 2 GiB (OpenSSL takes
    ///   32-bit lengths). Defaults to ``maxBundleBytes`` (10 MiB). The executable validates its setting before
    ///   calling this; a value out of range here is a programming error and traps.
    public init(keyRing: KeyRing, storage: any SealedBlobStorage, maxBundleBytes: Int = CertVault.maxBundleBytes) {
        precondition(
            (1...Self.maxAcceptedBundleLimit).contains(maxBundleBytes),
            "CertVault.maxBundleBytes must be between 1 and \(Self.maxAcceptedBundleLimit)"
        )
        self.keyRing = keyRing
        self.storage = storage
        self.maxBundleBytes = maxBundleBytes
    }

    /// The master-key version that new wraps use.
    public var currentKeyVersion: Int { keyRing.currentVersion }

    /// Encrypts `plaintext` for `build`, stores the blob (replacing any earlier one) and returns the wrapped data
    /// key for the caller to store. `plaintext` is not modified; wipe it when done. If the caller then fails to
    /// store the key, it should ``destroy(for:)`` the blob: without its key the blob is useless but not gone.
    ///
    /// - Throws: ``VaultError/Code/bundleTooLarge``, ``VaultError/Code/cryptoFailure``,
    ///   ``VaultError/Code/storageFailure``.
    public func seal(_ plaintext: [UInt8], for build: BuildID) async throws -> WrappedDataKey {
        guard plaintext.count <= maxBundleBytes else {
            throw VaultError.bundleTooLarge(for: build, limit: maxBundleBytes)
        }
        let (blob, wrapped) = try withBuild(build) {
            var dataKey = try SecureRandom.bytes(AES256GCM.keyByteCount)
            defer { dataKey.wipe() }
            let nonce = try SecureRandom.bytes(AES256GCM.nonceByteCount)
            let sealed = try AES256GCM.seal(plaintext, key: dataKey, nonce: nonce, aad: Envelope.bundleAAD(build: build))
            let wrapped = try wrap(dataKey, for: build)
            return (Envelope.assembleBlob(nonce: nonce, sealed: sealed), wrapped)
        }
        try await storageCall(build) { try await storage.putSealed(blob, for: build) }
        return wrapped
    }

    /// Fetches and decrypts the bundle of `build`. The caller owns the result and should wipe it after use.
    ///
    /// - Throws: ``VaultError/Code/unknownKeyVersion`` when the ring lacks `wrappedKey.keyVersion`;
    ///   ``VaultError/Code/sealedBundleCorrupt`` when the key or blob fails to parse or authenticate (tampering,
    ///   truncation, or a key or blob of another build); ``VaultError/Code/bundleNotFound`` when nothing is
    ///   stored; ``VaultError/Code/bundleTooLarge``; ``VaultError/Code/storageFailure``.
    public func open(for build: BuildID, wrappedKey: WrappedDataKey) async throws -> [UInt8] {
        // Unwrap first: a wrong key fails without touching storage, and no blob is read for nothing.
        var dataKey = try withBuild(build) { try unwrap(wrappedKey, for: build) }
        defer { dataKey.wipe() }
        let limit = maxBundleBytes + Envelope.blobOverhead
        let blob = try await storageCall(build) { try await storage.getSealed(for: build, maxBytes: limit) }
        return try withBuild(build) {
            // Checked here too: the vault's limit must not depend on every adapter honouring `maxBytes`.
            guard blob.count <= limit else { throw VaultError.bundleTooLarge(for: build, limit: maxBundleBytes) }
            let parts = try Envelope.parseBlob(blob, build: build)
            let aad = Envelope.bundleAAD(build: build, format: parts.format)
            return try AES256GCM.open(parts.sealed, key: dataKey, nonce: parts.nonce, aad: aad)
        }
    }

    /// Removes the blob of `build` (idempotent). The caller deletes the wrapped key, which alone already makes
    /// the bundle unrecoverable, even from a backup of the blob.
    ///
    /// - Throws: ``VaultError/Code/storageFailure``.
    public func destroy(for build: BuildID) async throws {
        try await storageCall(build) { try await storage.removeSealed(for: build) }
    }

    /// The same data key wrapped under the current master-key version, for `vault rotate-key`.
    ///
    /// Returns `key` itself when it is already wrapped under the current version (after checking that it
    /// opens), so a rotation can skip rows whose key did not change. The blob is untouched.
    ///
    /// - Throws: ``VaultError/Code/unknownKeyVersion``, ``VaultError/Code/sealedBundleCorrupt``,
    ///   ``VaultError/Code/cryptoFailure``.
    public func rewrap(_ key: WrappedDataKey, for build: BuildID) throws -> WrappedDataKey {
        try withBuild(build) {
            var dataKey = try unwrap(key, for: build)
            defer { dataKey.wipe() }
            if key.keyVersion == keyRing.currentVersion { return key }
            return try wrap(dataKey, for: build)
        }
    }

    /// Seals the bundle of `source` afresh for `destination` (a retry): a new data key, nonce and wrap, bound to
    /// the new build. The source's blob stays; the caller destroys it when its own grace period ends.
    ///
    /// - Throws: the errors of ``open(for:wrappedKey:)`` for the source and of ``seal(_:for:)`` for the
    ///   destination; each carries the build it concerns.
    public func reseal(from source: BuildID, wrappedKey: WrappedDataKey, to destination: BuildID) async throws
        -> WrappedDataKey
    {
        var plaintext = try await open(for: source, wrappedKey: wrappedKey)
        defer { plaintext.wipe() }
        return try await seal(plaintext, for: destination)
    }
}

// MARK: - Data-key wrapping and error context

extension CertVault {
    /// Encrypts `dataKey` under the current master key, bound to `build` and the version.
    private func wrap(_ dataKey: [UInt8], for build: BuildID) throws -> WrappedDataKey {
        let version = keyRing.currentVersion
        guard let masterKey = keyRing.key(version: version) else {
            throw VaultError.unknownKeyVersion(version, build: build)
        }
        let nonce = try SecureRandom.bytes(AES256GCM.nonceByteCount)
        let aad = Envelope.wrapAAD(build: build, keyVersion: version)
        let sealed = try masterKey.withBytes { try AES256GCM.seal(dataKey, key: $0, nonce: nonce, aad: aad) }
        return WrappedDataKey(keyVersion: version, bytes: Envelope.assembleWrappedKey(nonce: nonce, sealed: sealed))
    }

    /// The data key inside `wrapped`, which the caller must wipe. (Internal rather than private for tests.)
    func unwrap(_ wrapped: WrappedDataKey, for build: BuildID) throws -> [UInt8] {
        guard let masterKey = keyRing.key(version: wrapped.keyVersion) else {
            throw VaultError.unknownKeyVersion(wrapped.keyVersion, build: build)
        }
        let parts = try Envelope.parseWrappedKey(wrapped.bytes, build: build)
        let aad = Envelope.wrapAAD(build: build, keyVersion: wrapped.keyVersion, format: parts.format)
        var dataKey = try masterKey.withBytes { try AES256GCM.open(parts.sealed, key: $0, nonce: parts.nonce, aad: aad) }
        guard dataKey.count == AES256GCM.keyByteCount else {
            dataKey.wipe()
            throw VaultError.sealedBundleCorrupt("unwrapped data key has the wrong length", build: build)
        }
        return dataKey
    }

    /// Runs synchronous vault work, adding `build` to any ``VaultError`` raised without it.
    private func withBuild<Result>(_ build: BuildID, _ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as VaultError {
            throw error.with(build: build)
        }
    }

    /// Runs a storage call: ``VaultError``s (not-found, too-large) pass through with the build added; anything
    /// else becomes ``VaultError/Code/storageFailure`` so callers see one error type.
    private func storageCall<Result>(_ build: BuildID, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as VaultError {
            throw error.with(build: build)
        } catch {
            throw VaultError.storageFailure(build: build, underlying: error)
        }
    }
}
