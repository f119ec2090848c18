import ArtifactStore
import Crypto
import Foundation
import Identifiers
import NIOCore

/// A store in a fresh folder of its own, removed when the test ends.
struct StoreFixture {
    let root: String
    let store: ArtifactStore

    init() throws {
        root = NSTemporaryDirectory() + "artifact-store-tests-" + UUID().uuidString
        do {
            store = try ArtifactStore(configuration: .init(root: root))
        } catch {
            // The redacted description says only "storageUnavailable"; a failing test needs the detail.
            print(String(reflecting: error))
            throw error
        }
    }

    /// Runs `body` with a fresh store and removes its folder afterwards, whatever happens.
    static func with<T>(_ body: (StoreFixture) async throws -> T) async throws -> T {
        let fixture = try StoreFixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.root) }
        return try await body(fixture)
    }

    static func key(_ kind: BlobKind = .source) -> BlobKey { BlobKey(build: BuildID.random(), kind: kind) }

    /// Every regular file below the root, relative to it (to prove nothing was left behind).
    func files(under folder: String = "") -> [String] {
        let base = root + "/" + folder
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter { name in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: base + "/" + name, isDirectory: &isFolder) && !isFolder.boolValue
        }.sorted()
    }

    var temporaryFiles: [String] { (try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? [] }

    func blobPath(_ key: BlobKey) -> String {
        "\(root)/blobs/\(key.kind.rawValue)/\(key.build.rawValue.prefix(2))/\(key.build.rawValue)"
    }

    /// Writes `bytes` through a writer in chunks of `chunk` bytes and commits.
    func put(_ bytes: [UInt8], at key: BlobKey, chunk: Int = 10_000, inspect: ArchiveLimits? = nil) async throws -> BlobInfo {
        let writer = try await store.makeWriter(for: key, limit: Int64(bytes.count))
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            try await writer.write(ByteBuffer(bytes: bytes[start..<min(start + chunk, bytes.count)]))
        }
        return try await writer.commit(expectedSHA256: nil, inspect: inspect)
    }

    func readAll(_ contents: BlobContents) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in contents { bytes += chunk.readableBytesView }
        return bytes
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// Incompressible bytes, eight at a time (byte-wise generation is slow in debug builds).
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { raw in
        var index = 0
        while index < count {
            var word = generator.next()
            let take = min(8, count - index)
            withUnsafeBytes(of: &word) { raw.baseAddress!.advanced(by: index).copyMemory(from: $0.baseAddress!, byteCount: take) }
            index += take
        }
    }
    return bytes
}

extension ArtifactStoreError.Code {
    /// Whether `error` is an ``ArtifactStoreError`` with this code.
    func matches(_ error: any Error) -> Bool { (error as? ArtifactStoreError)?.code == self }
}
