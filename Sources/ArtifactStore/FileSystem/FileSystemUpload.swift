import CSystemExtras
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One upload staged in `<root>/tmp/<random>.part`.
///
/// The temporary file is created with `O_EXCL | O_NOFOLLOW`, mode 0600, and stays locked (`flock`) by this object
/// until it is committed or removed: the sweeper removes only unlocked temporary files, so it is safe to run at
/// any time, even while other processes sharing the store are writing. A dropped upload closes its descriptor,
/// which releases the lock, and its file is left for the sweeper; it never becomes visible under a key.
final class FileSystemUpload: BlobUpload {
    private enum State {
        case open(fd: Int32, size: Int64)
        case finished
    }

    /// Write-back of the bytes appended is started every this many bytes, so that the `fsync` of ``commit()`` finds
    /// little left to write: for 1 GiB that `fsync` alone took seconds when the whole file was still dirty.
    static let writeBackInterval: Int64 = 8 * 1024 * 1024

    let root: String
    let key: BlobKey
    let temporaryName: String
    let threadPool: NIOThreadPool
    private let state: Mutex<State>

    init(root: String, key: BlobKey, descriptor: Int32, temporaryName: String, threadPool: NIOThreadPool) {
        self.root = root
        self.key = key
        self.temporaryName = temporaryName
        self.threadPool = threadPool
        self.state = Mutex(.open(fd: descriptor, size: 0))
    }

    deinit {
        if case .open(let fd, _) = state.withLock({ $0 }) { _ = close(fd) }
    }

    /// Creates and locks a new temporary file; returns its descriptor and name.
    static func createTemporaryFile(root: String) throws -> (fd: Int32, name: String) {
        let folder = try SystemCall.openFolderChain(root: root, [FileSystemBackend.temporaryFolder], create: true)
        defer { _ = close(folder) }
        while true {
            let name = randomHex(byteCount: 16) + FileSystemBackend.temporarySuffix
            let fd = try SystemCall.check("openat(temporary)") {
                openat(folder, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, SystemCall.fileMode)
            }
            // A sweeper may have locked and removed the file between our open and our lock: then start again.
            var info = stat()
            if flock(fd, LOCK_EX | LOCK_NB) == 0, fstat(fd, &info) == 0, info.st_nlink > 0 {
                return (fd, name)
            }
            _ = close(fd)
        }
    }

    func append(_ parts: [ByteBuffer]) async throws {
        guard case .open(let fd, let size) = state.withLock({ $0 }) else {
            throw ArtifactStoreError.ioFailure(key, underlying: UploadFinished())
        }
        let count = parts.reduce(0) { $0 + Int64($1.readableBytes) }
        try await run {
            try SystemCall.writeAll(fd, parts)
            // Start (not wait for) write-back of what is dirty since the last time; a failure only loses the head
            // start, the final fsync still decides.
            let end = size + count
            let start = size / Self.writeBackInterval * Self.writeBackInterval
            if end / Self.writeBackInterval != size / Self.writeBackInterval {
                _ = fac_start_writeback(fd, start, end / Self.writeBackInterval * Self.writeBackInterval - start)
            }
        }
        state.withLock { if case .open(let fd, let size) = $0 { $0 = .open(fd: fd, size: size + count) } }
    }

    func inspectStaged<T: Sendable>(_ body: @escaping @Sendable (any StagedBlobReader) throws -> T) async throws -> T {
        guard case .open(let fd, let size) = state.withLock({ $0 }) else { throw ArtifactStoreError.ioFailure(key) }
        // Archive rejections are not I/O failures: let them through untouched.
        return try await threadPool.runIfActive { try body(FileStagedReader(fd: fd, size: size)) }
    }

    func commit() async throws {
        let fd = try openDescriptor()
        let (root, key, name) = (self.root, self.key, self.temporaryName)
        do {
            try await run {
                try SystemCall.check("fsync(temporary)") { fsync(fd) }
                let temporary = try SystemCall.openFolderChain(root: root, [FileSystemBackend.temporaryFolder], create: false)
                defer { _ = close(temporary) }
                let folder = try SystemCall.openFolderChain(root: root, FileSystemBackend.folderComponents(of: key), create: true)
                defer { _ = close(folder) }
                // rename(2) replaces whatever has the blob's name, a planted symlink included, without following it.
                try SystemCall.check("renameat") { renameat(temporary, name, folder, key.fileName) }
                try SystemCall.check("fsync(folder)") { fsync(folder) }
            }
        } catch {
            await abort()
            throw error
        }
        state.withLock { $0 = .finished }
        _ = close(fd)
    }

    func abort() async {
        let fd: Int32? = state.withLock { state in
            guard case .open(let fd, _) = state else { return nil }
            state = .finished
            return fd
        }
        guard let fd else { return }
        let (root, name) = (self.root, self.temporaryName)
        let cleanup: @Sendable () -> Void = {
            _ = close(fd)
            guard let folder = try? SystemCall.openFolderChain(root: root, [FileSystemBackend.temporaryFolder], create: false)
            else { return }
            _ = unlinkat(folder, name, 0)
            _ = close(folder)
        }
        do {
            try await threadPool.runIfActive(cleanup)
        } catch {
            // The pool is shutting down: clean up here rather than leave a temporary file for the sweeper.
            cleanup()
        }
    }

    private func openDescriptor() throws -> Int32 {
        guard case .open(let fd, _) = state.withLock({ $0 }) else {
            throw ArtifactStoreError.ioFailure(key, underlying: UploadFinished())
        }
        return fd
    }

    private func run(_ body: @escaping @Sendable () throws -> Void) async throws {
        do {
            try await threadPool.runIfActive(body)
        } catch {
            throw ArtifactStoreError.wrapping(error, key: key)
        }
    }
}

/// The upload was already committed or aborted.
struct UploadFinished: Error {}
