#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file descriptor closed when the last reference goes away, so that a reader dropped half-way (a client that
/// disconnects mid-download) does not leak it. `close` of a regular file does not block for long, so the deinit
/// may run on any thread.
final class OwnedDescriptor: Sendable {
    let fd: Int32

    init(_ fd: Int32) { self.fd = fd }

    deinit { _ = close(fd) }
}
