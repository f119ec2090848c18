import ArtifactStore
import Crypto
import Identifiers
import NIOCore
import NIOPosix
import _NIOFileSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Copies old files into the store (streamed, checksummed) and reads old cert bundles into memory only.
struct LegacyFileCopier: Sendable {
    enum Outcome: Sendable, Equatable {
        case copied(size: Int64, sha256: String)
        /// Dry run: the file is there and would be copied.
        case found(size: Int64)
        case missing(reason: String)
    }

    /// `nil` in a dry run, which only locates files.
    let store: ArtifactStore?
    let storageRoot: String
    let threadPool: NIOThreadPool
    let dryRun: Bool

    /// Streams the old file into the store under `key`. The SHA-256 is computed here, from the bytes read, and
    /// handed to the writer as the expected checksum: the commit fails unless the store received the same bytes.
    func copy(_ stored: String, kind: LegacyFileKind, to key: BlobKey) async throws -> Outcome {
        guard
            let located = try await LegacyFileLocator.locate(
                stored, kind: kind, storageRoot: storageRoot, threadPool: threadPool)
        else { return .missing(reason: "not in the storage folder") }
        guard let store, !dryRun else { return .found(size: located.size) }
        // The size seen now is the limit: a file that grows while being read is refused, not truncated.
        let writer = try await store.makeWriter(for: key, limit: located.size)
        var hasher = SHA256()
        do {
            try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(located.path)) { handle in
                for try await chunk in handle.readChunks(in: 0..., chunkLength: .kibibytes(256)) {
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    try await writer.write(chunk)
                }
            }
        } catch let error as ArtifactStoreError {
            await writer.abort()
            if error.code == .tooLarge { return .missing(reason: "changed while it was read") }
            throw error
        } catch {
            await writer.abort()
            return .missing(reason: "unreadable")
        }
        let digest = hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let info = try await writer.commit(expectedSHA256: digest, inspect: nil)
        return .copied(size: info.size, sha256: info.sha256)
    }

    /// The plaintext of an old cert bundle, in memory only (the caller seals and wipes it); `.missing` when
    /// absent, unreadable or over `limit` bytes.
    func readCerts(_ stored: String, limit: Int) async throws -> Result<[UInt8], CertsUnavailable> {
        guard
            let located = try await LegacyFileLocator.locate(
                stored, kind: .certs, storageRoot: storageRoot, threadPool: threadPool)
        else { return .failure(CertsUnavailable(reason: "not in the storage folder")) }
        guard located.size <= Int64(limit) else {
            return .failure(CertsUnavailable(reason: "larger than the vault's limit of \(limit) bytes"))
        }
        return try await threadPool.runIfActive {
            guard let bytes = Self.readWhole(located.path, limit: limit, expected: Int(located.size)) else {
                return .failure(CertsUnavailable(reason: "unreadable or changed while it was read"))
            }
            return .success(bytes)
        }
    }

    struct CertsUnavailable: Error, Sendable {
        let reason: String
    }

    /// Reads a small file with `read(2)` into one array; every intermediate buffer is zeroed. Blocking.
    private static func readWhole(_ path: String, limit: Int, expected: Int) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        // Room for the whole file up front: a growing array would leave unwiped copies behind.
        bytes.reserveCapacity(min(limit, expected) + 64 * 1024)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        defer { buffer.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                wipe(&bytes)
                return nil
            }
            bytes.append(contentsOf: buffer[0..<count])
            if bytes.count > limit {
                wipe(&bytes)
                return nil
            }
        }
    }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { memset(base, 0, buffer.count) }
        }
        bytes.removeAll()
    }
}
