#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Thin, blocking wrappers around the system calls the filesystem driver needs. Call them only on the thread pool.
///
/// Every name below the store's root is opened relative to a folder descriptor with `O_NOFOLLOW`, so a symlink
/// planted anywhere inside the store is refused instead of followed.
enum SystemCall {
    static let fileMode: mode_t = 0o600
    static let folderMode: mode_t = 0o700

    /// Calls `body` until it does not fail with `EINTR`; throws on any other failure.
    @discardableResult
    static func check<T: BinaryInteger>(_ call: String, _ body: () -> T) throws -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = currentErrno()
            if code != EINTR { throw SystemCallError(call: call, errno: code) }
        }
    }

    /// Creates the folder at `path` and any missing parents, like `mkdir -p` (the root is the operator's choice,
    /// so its parents may be symlinks).
    static func createFolderPath(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, folderMode) != 0, currentErrno() != EEXIST {
                throw SystemCallError(call: "mkdir(root)", errno: currentErrno())
            }
            prefix += "/"
        }
    }

    /// Opens the store's root folder (the root itself may be a symlink set up by the operator).
    static func openRoot(_ path: String) throws -> Int32 {
        try check("open(root)") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    /// Opens the folder `name` inside `parent`, never following a symlink; creates it first when `create` is set.
    /// Returns the descriptor and whether this call created the folder (so the caller can fsync the parent).
    static func openFolder(_ name: String, in parent: Int32, create: Bool) throws -> (fd: Int32, created: Bool) {
        var created = false
        if create {
            if mkdirat(parent, name, folderMode) == 0 {
                created = true
            } else if currentErrno() != EEXIST {
                throw SystemCallError(call: "mkdirat", errno: currentErrno())
            }
        }
        let fd = try check("openat(folder)") { openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        return (fd, created)
    }

    /// Opens `components` one folder at a time below the root at `rootPath`; closes everything but the result.
    static func openFolderChain(root rootPath: String, _ components: [String], create: Bool) throws -> Int32 {
        var current = try openRoot(rootPath)
        for component in components {
            let parent = current
            // Closes the parent, not the folder just opened (a `defer` reading `current` would see `next`).
            defer { _ = close(parent) }
            let (next, created) = try openFolder(component, in: parent, create: create)
            // A new folder's entry lives in its parent: make the parent durable too, or a crash could lose the
            // folder, and with it a blob we already reported as committed.
            if created { _ = fsync(parent) }
            current = next
        }
        return current
    }

    /// Opens an existing regular file for reading without following a symlink and without blocking on a FIFO.
    /// Anything that is not a regular file is reported as `ENOENT`: it is not a blob we wrote.
    static func openRegularFile(_ name: String, in folder: Int32) throws -> (fd: Int32, size: Int64) {
        let fd = try check("openat(file)") { openat(folder, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            _ = close(fd)
            throw SystemCallError(call: "fstat(regular)", errno: ENOENT)
        }
        return (fd, Int64(info.st_size))
    }

    /// Writes every byte of `bytes`, continuing after short writes.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let count = bytes.count - done
            let written = try check("write") { write(fd, bytes.baseAddress! + done, count) }
            done += written
        }
    }

    /// Writes every readable byte of `buffers`, in order, with as few `writev` calls as the kernel allows.
    static func writeAll(_ fd: Int32, _ buffers: [ByteBuffer]) throws {
        var pending = buffers.filter { $0.readableBytes > 0 }
        var first = 0
        while first < pending.count {
            // A bounded batch: `withIOVectors` nests one closure per buffer.
            let batch = min(pending.count - first, 128)
            let written = try withIOVectors(pending[first..<(first + batch)]) { vectors in
                try check("writev") { writev(fd, vectors.baseAddress!, Int32(vectors.count)) }
            }
            // Skip what was written; a short write leaves the rest of a buffer for the next round.
            var remaining = written
            while remaining > 0 {
                let size = pending[first].readableBytes
                if remaining >= size {
                    remaining -= size
                    first += 1
                } else {
                    pending[first].moveReaderIndex(forwardBy: remaining)
                    remaining = 0
                }
            }
        }
    }

    /// Calls `body` with an `iovec` for each buffer's readable bytes, valid only during the call.
    private static func withIOVectors<R>(_ buffers: ArraySlice<ByteBuffer>, _ body: (UnsafeBufferPointer<iovec>) throws -> R) rethrows -> R {
        var vectors: [iovec] = []
        vectors.reserveCapacity(buffers.count)
        func gather(_ index: ArraySlice<ByteBuffer>.Index) throws -> R {
            guard index < buffers.endIndex else { return try vectors.withUnsafeBufferPointer(body) }
            return try buffers[index].withUnsafeReadableBytes { bytes in
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count))
                return try gather(index + 1)
            }
        }
        return try gather(buffers.startIndex)
    }

    /// Reads up to `buffer.count` bytes at `offset`, continuing after short reads; fewer only at the end of file.
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let count = buffer.count - done
            let got = try check("pread") { pread(fd, buffer.baseAddress! + done, count, off_t(offset) + off_t(done)) }
            if got == 0 { break }
            done += got
        }
        return done
    }

    /// Removes `name` from `folder`; a missing name is success.
    static func unlinkIfPresent(_ name: String, in folder: Int32) throws {
        if unlinkat(folder, name, 0) != 0, currentErrno() != ENOENT {
            throw SystemCallError(call: "unlinkat", errno: currentErrno())
        }
    }

    /// The names in `folder`, without `.` and `..`. Takes a duplicate of the descriptor: `closedir` closes it.
    static func names(in folder: Int32) throws -> [String] {
        let copy = try check("dup") { dup(folder) }
        guard let dir = fdopendir(copy) else {
            _ = close(copy)
            throw SystemCallError(call: "fdopendir", errno: currentErrno())
        }
        defer { closedir(dir) }
        var result: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { result.append(name) }
        }
        return result
    }
}

/// `errno` of the calling thread (a function, so that the name does not shadow the stored property of errors).
@inline(__always) func currentErrno() -> Int32 { errno }
