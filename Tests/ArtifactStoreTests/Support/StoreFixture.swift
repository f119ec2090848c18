import ArtifactStore
import Crypto
import Foundation
import Identifiers
import Logging
import NIOCore
import S3Storage
import TestSupport

/// A store in a fresh folder of its own (filesystem), or under a fresh prefix of moto's bucket (s3), removed when
/// the test ends.
struct StoreFixture {
    let backend: TestBackend
    let root: String
    let store: ArtifactStore
    /// The bucket's client, for the s3 backend.
    let s3: S3Client?

    init(_ backend: TestBackend = .filesystem, configure: (inout S3Configuration) -> Void = { _ in }) throws {
        self.backend = backend
        root = NSTemporaryDirectory() + "artifact-store-tests-" + UUID().uuidString
        do {
            switch backend {
            case .filesystem:
                store = try ArtifactStore(configuration: .init(root: root))
                s3 = nil
            case .s3:
                var configuration = try MotoEnvironment.configuration()
                configure(&configuration)
                let client = MotoEnvironment.client(configuration)
                var logger = Logger(label: "s3-test")
                logger.logLevel = .warning
                store = ArtifactStore(configuration: .init(root: root), backend: S3Backend(client: client, logger: logger))
                s3 = client
            }
        } catch {
            // The redacted description says only "storageUnavailable"; a failing test needs the detail.
            print(String(reflecting: error))
            throw error
        }
    }

    /// Runs `body` with a fresh store and removes its folder afterwards, whatever happens.
    static func with<T>(_ body: (StoreFixture) async throws -> T) async throws -> T {
        try await with(.filesystem, body)
    }

    /// Runs `body` with a fresh store on `backend` and removes what it stored afterwards, whatever happens.
    static func with<T>(
        _ backend: TestBackend, configure: (inout S3Configuration) -> Void = { _ in }, _ body: (StoreFixture) async throws -> T
    ) async throws -> T {
        let fixture = try StoreFixture(backend, configure: configure)
        defer { try? FileManager.default.removeItem(atPath: fixture.root) }
        do {
            let result = try await body(fixture)
            await fixture.removeBucketObjects()
            return result
        } catch {
            await fixture.removeBucketObjects()
            throw error
        }
    }

    /// What a failed or abandoned write could leave: temporary files (filesystem); staging objects, probes and
    /// unfinished multipart uploads under the test's prefix (s3).
    func leftovers() async throws -> [String] {
        guard let s3 else { return temporaryFiles }
        return try await s3.leftovers(prefix: s3.configuration.prefix)
    }

    /// Waits (up to 10 s) until ``leftovers()`` has `count` entries, and says whether it did: a writer hands its
    /// batches to the backend without waiting, so an S3 multipart upload appears shortly after `write` returns.
    func leftoversSettle(at count: Int) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await leftovers().count == count { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await leftovers().count == count
    }

    /// Everything stored: files below the root (filesystem); every object and unfinished upload under the prefix (s3).
    func everything() async throws -> [String] {
        guard let s3 else { return files() }
        return try await s3.inventory(prefix: s3.configuration.prefix)
    }

    private func removeBucketObjects() async {
        guard let s3 else { return }
        await s3.removeEverything(prefix: s3.configuration.prefix)
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
