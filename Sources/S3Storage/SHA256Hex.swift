import Crypto
import NIOCore

/// Lowercase hex SHA-256, as SigV4 and the store's checksums write it.
enum SHA256Hex {
    static func of(_ buffers: [ByteBuffer]) -> String {
        var hasher = SHA256()
        for buffer in buffers { buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
        let digest = hasher.finalize()
        return digest.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}
