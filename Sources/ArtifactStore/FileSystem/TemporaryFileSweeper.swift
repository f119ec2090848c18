#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Removes temporary files that no live upload holds: those of crashed processes and of dropped writers.
///
/// A live upload keeps an exclusive `flock` on its file; locks die with their descriptor, hence with a crashed
/// process. Trying the lock without waiting tells the two apart, across processes too, without trusting clocks.
enum TemporaryFileSweeper {
    static func sweep(root: String) throws -> Int {
        let folder = try SystemCall.openFolderChain(root: root, [FileSystemBackend.temporaryFolder], create: true)
        defer { _ = close(folder) }
        var removed = 0
        for name in try SystemCall.names(in: folder) where isAbandoned(name, in: folder) {
            if unlinkat(folder, name, 0) == 0 { removed += 1 }
        }
        return removed
    }

    private static func isAbandoned(_ name: String, in folder: Int32) -> Bool {
        let fd = openat(folder, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        // Nothing but our own regular files belongs here: a symlink (ELOOP) is removed, not followed.
        guard fd >= 0 else { return currentErrno() == ELOOP }
        defer { _ = close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return flock(fd, LOCK_EX | LOCK_NB) == 0
        case S_IFDIR:
            return false
        default:
            return true
        }
    }
}
