import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blobs as files below one root folder:
///
/// ```
/// <root>/tmp/<random>.part                 uploads in flight (mode 0600, locked by their writer)
/// <root>/blobs/<kind>/<id[0..<2]>/<id>     committed blobs
/// ```
///
/// Every blocking call runs on the configured `NIOThreadPool`, never on Swift's cooperative pool or an event loop.
public final class FileSystemBackend: BlobBackend {
    static let temporaryFolder = "tmp"
    static let blobsFolder = "blobs"
    static let temporarySuffix = ".part"

    public var name: String { "filesystem" }

    let root: String
    let threadPool: NIOThreadPool
    let readBatchSize: Int

    /// Creates the layout below `root` if needed and checks that the root is a writable folder.
    ///
    /// Blocks the calling thread briefly: call it at start-up.
    public init(root: String, threadPool: NIOThreadPool, readBatchSize: Int) throws {
        self.root = root
        self.threadPool = threadPool
        self.readBatchSize = readBatchSize
        do {
            try SystemCall.createFolderPath(root)
            for kind in BlobKind.allCases {
                _ = close(try SystemCall.openFolderChain(root: root, [Self.blobsFolder, kind.rawValue], create: true))
            }
            try Self.probeWritable(root: root)
        } catch let error as SystemCallError {
            throw ArtifactStoreError.storageUnavailable(underlying: error)
        }
    }

    public func beginUpload(for key: BlobKey) async throws -> any BlobUpload {
        let root = self.root
        let staged = try await run(key) { try FileSystemUpload.createTemporaryFile(root: root) }
        return FileSystemUpload(root: root, key: key, descriptor: staged.fd, temporaryName: staged.name, threadPool: threadPool)
    }

    public func size(of key: BlobKey) async throws -> Int64? {
        let root = self.root
        return try await run(key) { () -> Int64? in
            do {
                let folder = try SystemCall.openFolderChain(root: root, Self.folderComponents(of: key), create: false)
                defer { _ = close(folder) }
                var info = stat()
                try SystemCall.check("fstatat") { fstatat(folder, key.fileName, &info, AT_SYMLINK_NOFOLLOW) }
                // A symlink or anything else planted under a blob's name is not a blob we wrote.
                return (info.st_mode & S_IFMT) == S_IFREG ? Int64(info.st_size) : nil
            } catch let error as SystemCallError where error.isMissing || error.isForeignObject {
                return nil
            }
        }
    }

    public func openForReading(_ key: BlobKey) async throws -> (size: Int64, source: any BlobByteSource) {
        let root = self.root
        let opened = try await run(key) { () -> (fd: Int32, size: Int64)? in
            do {
                let folder = try SystemCall.openFolderChain(root: root, Self.folderComponents(of: key), create: false)
                defer { _ = close(folder) }
                let opened = try SystemCall.openRegularFile(key.fileName, in: folder)
                // Blobs are streamed front to back: a larger read-ahead window for what is not cached yet.
                _ = posix_fadvise(opened.fd, 0, 0, POSIX_FADV_SEQUENTIAL)
                return opened
            } catch let error as SystemCallError where error.isMissing || error.isForeignObject {
                return nil
            }
        }
        guard let opened else { throw ArtifactStoreError.notFound(key) }
        let source = FileByteSource(descriptor: OwnedDescriptor(opened.fd), threadPool: threadPool, key: key)
        return (opened.size, source)
    }

    public func delete(_ key: BlobKey) async throws {
        let root = self.root
        try await run(key) {
            do {
                let folder = try SystemCall.openFolderChain(root: root, Self.folderComponents(of: key), create: false)
                defer { _ = close(folder) }
                try SystemCall.unlinkIfPresent(key.fileName, in: folder)
                // Make the removal durable: a blob that reappears after a crash could be served to someone.
                try SystemCall.check("fsync(folder)") { fsync(folder) }
            } catch let error as SystemCallError where error.isMissing {
                return
            }
        }
    }

    public func sweepAbandonedUploads() async throws -> Int {
        let root = self.root
        return try await run(nil) { try TemporaryFileSweeper.sweep(root: root) }
    }

    public func usage() async throws -> StorageUsage {
        let root = self.root
        return try await run(nil) { try UsageScanner.scan(root: root) }
    }

    public func checkWritable() async throws {
        let root = self.root
        do {
            try await threadPool.runIfActive { try Self.probeWritable(root: root) }
        } catch {
            throw ArtifactStoreError.storageUnavailable(underlying: error)
        }
    }

    /// `blobs/<kind>/<shard>`: built from the typed key only.
    static func folderComponents(of key: BlobKey) -> [String] {
        [blobsFolder, key.kind.rawValue, key.shard]
    }

    /// Creates, writes, syncs and removes a probe file in the temporary folder.
    static func probeWritable(root: String) throws {
        let folder = try SystemCall.openFolderChain(root: root, [temporaryFolder], create: true)
        defer { _ = close(folder) }
        let name = "probe-" + randomHex(byteCount: 16) + temporarySuffix
        let fd = try SystemCall.check("openat(probe)") {
            openat(folder, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, SystemCall.fileMode)
        }
        defer {
            _ = close(fd)
            _ = unlinkat(folder, name, 0)
        }
        var byte: UInt8 = 0
        try withUnsafeBytes(of: &byte) { try SystemCall.writeAll(fd, $0) }
        try SystemCall.check("fsync(probe)") { fsync(fd) }
    }

    /// Runs blocking work on the thread pool and gives its failures the module's error type.
    func run<T: Sendable>(_ key: BlobKey?, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await threadPool.runIfActive(body)
        } catch {
            throw ArtifactStoreError.wrapping(error, key: key)
        }
    }
}

/// `byteCount` random bytes from the system CSPRNG as lowercase hex, for unguessable temporary names.
func randomHex(byteCount: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<byteCount).map { _ in
        let byte = UInt8.random(in: 0...255, using: &generator)
        return String(byte, radix: 16).leftPadded(to: 2)
    }.joined()
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
