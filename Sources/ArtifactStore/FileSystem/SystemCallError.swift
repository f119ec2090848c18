#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: its name and `errno`, never the path it was given (descriptions reach logs).
struct SystemCallError: Error, CustomStringConvertible {
    let call: String
    let errno: Int32

    var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }

    /// The volume is full or over quota: the store cannot take writes, which is not a fault of this blob.
    var isOutOfSpace: Bool { errno == ENOSPC || errno == EDQUOT }
    /// The name does not exist.
    var isMissing: Bool { errno == ENOENT }
    /// Something that is not what we created stands where a folder or file of ours should be: a symlink (`ELOOP`
    /// from `O_NOFOLLOW`) or a file in place of a folder (`ENOTDIR`).
    var isForeignObject: Bool { errno == ELOOP || errno == ENOTDIR || errno == EMLINK }
}
