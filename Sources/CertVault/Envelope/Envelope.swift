internal import Identifiers

/// The byte layouts of the vault: the sealed blob kept in storage and the wrapped data key kept in the database,
/// and the additional authenticated data that binds each to its build.
///
/// Sealed blob (format 1), everything in storage for one build:
/// ```
/// offset  size  field
///      0     4  magic "FACV" (0x46 0x41 0x43 0x56)
///      4     1  format version, 0x01
///      5    12  nonce (random, per seal)
///     17     n  ciphertext of the bundle (n = bundle size)
///   17+n    16  GCM tag
/// ```
/// Wrapped data key (format 1), `WrappedDataKey.bytes`, in the database next to `keyVersion`:
/// ```
///      0     1  format version, 0x01
///      1    12  nonce (random, per wrap)
///     13    32  ciphertext of the data key
///     45    16  GCM tag                                  (61 bytes in all)
/// ```
/// Additional authenticated data (never stored; rebuilt from what the caller asks for):
/// ```
/// bundle:  "free-agent/certvault/bundle" 0x00 | format (1) | id length (1) | build id (UTF-8)
/// wrap:    "free-agent/certvault/dek"    0x00 | format (1) | key version (4, big-endian) | id length (1) | build id
/// ```
/// The labels keep the two kinds of ciphertext from ever standing in for each other; the build id makes a blob
/// or key copied to another build fail to authenticate; the key version in the wrap makes a key relabelled to
/// another version fail even if that version's key were somehow the same.
enum Envelope {
    static let magic: [UInt8] = [0x46, 0x41, 0x43, 0x56]
    static let formatVersion: UInt8 = 1
    static let headerByteCount = magic.count + 1
    static let blobOverhead = headerByteCount + AES256GCM.nonceByteCount + AES256GCM.tagByteCount
    static let wrappedKeyByteCount = 1 + AES256GCM.nonceByteCount + AES256GCM.keyByteCount + AES256GCM.tagByteCount

    private static let bundleLabel = Array("free-agent/certvault/bundle".utf8)
    private static let wrapLabel = Array("free-agent/certvault/dek".utf8)

    static func bundleAAD(build: BuildID, format: UInt8 = formatVersion) -> [UInt8] {
        let id = Array(build.rawValue.utf8)
        return bundleLabel + [0, format, UInt8(id.count)] + id
    }

    static func wrapAAD(build: BuildID, keyVersion: Int, format: UInt8 = formatVersion) -> [UInt8] {
        let id = Array(build.rawValue.utf8)
        let version = UInt32(keyVersion)
        let versionBytes: [UInt8] = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: version >> $0) }
        return wrapLabel + [0, format] + versionBytes + [UInt8(id.count)] + id
    }

    /// `header | nonce | ciphertext+tag`, built at its final size so no partial copy is left behind.
    static func assembleBlob(nonce: [UInt8], sealed: [UInt8]) -> [UInt8] {
        var blob = [UInt8]()
        blob.reserveCapacity(headerByteCount + nonce.count + sealed.count)
        blob += magic
        blob.append(formatVersion)
        blob += nonce
        blob += sealed
        return blob
    }

    /// Splits a blob into nonce and `ciphertext+tag`, checking magic, format and minimum length.
    static func parseBlob(_ blob: [UInt8], build: BuildID) throws -> (format: UInt8, nonce: [UInt8], sealed: [UInt8]) {
        guard blob.count >= blobOverhead else {
            throw VaultError.sealedBundleCorrupt("blob shorter than header, nonce and tag", build: build)
        }
        guard Array(blob[0..<magic.count]) == magic else {
            throw VaultError.sealedBundleCorrupt("bad magic", build: build)
        }
        let format = blob[magic.count]
        guard format == formatVersion else {
            throw VaultError.sealedBundleCorrupt("unknown blob format \(format)", build: build)
        }
        let nonceEnd = headerByteCount + AES256GCM.nonceByteCount
        return (format, Array(blob[headerByteCount..<nonceEnd]), Array(blob[nonceEnd...]))
    }

    /// `format | nonce | encrypted key+tag`.
    static func assembleWrappedKey(nonce: [UInt8], sealed: [UInt8]) -> [UInt8] {
        [formatVersion] + nonce + sealed
    }

    static func parseWrappedKey(_ bytes: [UInt8], build: BuildID) throws -> (format: UInt8, nonce: [UInt8], sealed: [UInt8]) {
        guard bytes.count == wrappedKeyByteCount else {
            throw VaultError.sealedBundleCorrupt("wrapped key has \(bytes.count) bytes", build: build)
        }
        guard bytes[0] == formatVersion else {
            throw VaultError.sealedBundleCorrupt("unknown wrapped-key format \(bytes[0])", build: build)
        }
        let nonceEnd = 1 + AES256GCM.nonceByteCount
        return (bytes[0], Array(bytes[1..<nonceEnd]), Array(bytes[nonceEnd...]))
    }
}
