/// A build's data key, encrypted under one version of the master key: what the caller stores in PostgreSQL
/// (`keyVersion` as an integer column, `bytes` as `bytea`) beside the build row.
///
/// Neither half is secret on its own: the bytes are ciphertext bound to the build and to `keyVersion`. But
/// the pair is what makes the build's blob openable, so deleting it crypto-shreds the bundle even where a
/// backup kept the blob. Layout of `bytes`: see ``CertVault``.
public struct WrappedDataKey: Sendable, Equatable, Hashable {
    /// The master-key version that wraps the data key (also shown as `key_version` by the API).
    public let keyVersion: Int
    /// Format byte, nonce, encrypted data key and tag (61 bytes in format 1).
    public let bytes: [UInt8]

    /// Rebuilds a wrapped key from its stored columns. Nothing is checked until it is used.
    public init(keyVersion: Int, bytes: [UInt8]) {
        self.keyVersion = keyVersion
        self.bytes = bytes
    }
}

extension WrappedDataKey: CustomStringConvertible {
    /// The version and length only: the bytes are of no use to a reader of a log.
    public var description: String { "WrappedDataKey(version: \(keyVersion), \(bytes.count) bytes)" }
}
