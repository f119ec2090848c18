import Crypto
import NIOCore

/// Lowercase hex SHA-256, as SigV4 and the store's checksums write it.
enum SHA256Hex {
    static func of(_ buffer: ByteBuffer) -> String {
        let digest = buffer.withUnsafeReadableBytes { SHA256.hash(data: $0) }
        return digest.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}
