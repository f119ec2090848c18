internal import COpenSSL
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Overwriting secrets in memory once they are no longer needed.
///
/// What this can and cannot do in Swift:
/// - It overwrites the buffer an array owns *at the moment of the call*, with `OPENSSL_cleanse`, which the
///   optimiser may not remove.
/// - If the array shares its buffer with another copy (copy-on-write), `withUnsafeMutableBytes` first makes a
///   private copy and overwrites only that: the shared original survives until its last owner releases it,
///   and is then freed without being overwritten. Wipe the last copy, or keep a secret in one variable.
/// - Buffers that an array left behind when it grew were freed without being overwritten: build secret
///   arrays at their final size (`reserveCapacity`, `repeating:count:`) so they never reallocate.
/// - `String`, `Substring` and `Foundation.Data` cannot be wiped reliably (small-string storage, bridging,
///   internal copies). Key text taken from the environment or a key file, and any `String` a caller builds
///   from a bundle (the `p12Password`), stays in freed memory until reused.
/// - Master keys sit in locked pages excluded from core dumps (best effort). Data keys and
///   plaintext are ordinary heap memory: they can be swapped out or dumped while in use, so run the controller
///   with swap encrypted or disabled and core dumps off.
public enum VaultMemory {
    /// Overwrites every byte of `bytes` with zeroes (see the type's notes for what that does not reach).
    public static func wipe(_ bytes: inout [UInt8]) { bytes.wipe() }
}

extension Array where Element == UInt8 {
    /// Overwrites the array's own buffer with zeroes, keeping its count.
    mutating func wipe() {
        withUnsafeMutableBytes { fa_cleanse($0.baseAddress, $0.count) }
    }
}

/// A 256-bit key in memory that Swift never copies: a manually allocated buffer, written once in `init`,
/// only read afterwards, and overwritten before it is freed in `deinit`.
///
/// The buffer has a page of its own, locked into RAM (`mlock`, so it is not swapped out) and left out of core
/// dumps (`MADV_DONTDUMP` on Linux). Both are best effort: a low `RLIMIT_MEMLOCK` makes `mlock` fail, and the
/// key is then held unlocked rather than refused. Master keys are few, so a page each costs nothing.
///
/// `@unchecked Sendable` because a raw pointer is not `Sendable`; it is safe here because the buffer is
/// immutable after `init` (no method writes to it) and freed only in `deinit`, when no other reference exists.
final class SecretKeyBytes: @unchecked Sendable {
    private let page: UnsafeMutableRawBufferPointer
    private let locked: Bool
    let count: Int

    /// Copies `bytes` into the private buffer and wipes `bytes`.
    init(consuming bytes: inout [UInt8]) {
        let pageSize = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
        let size = (bytes.count + pageSize - 1) / pageSize * pageSize
        page = .allocate(byteCount: max(size, pageSize), alignment: pageSize)
        page.initializeMemory(as: UInt8.self, repeating: 0)
        locked = mlock(page.baseAddress!, page.count) == 0
        #if os(Linux)
        _ = madvise(page.baseAddress!, page.count, MADV_DONTDUMP)
        #endif
        count = bytes.count
        bytes.withUnsafeBytes { page.copyMemory(from: $0) }
        bytes.wipe()
    }

    deinit {
        fa_cleanse(page.baseAddress, page.count)
        if locked { munlock(page.baseAddress!, page.count) }
        page.deallocate()
    }

    private var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: page[0..<count]) }

    /// A temporary `[UInt8]` copy handed to `body` and wiped when `body` returns, so that the copy's lifetime
    /// is one cipher call. (`body` must not keep it.)
    func withBytes<Result>(_ body: ([UInt8]) throws -> Result) rethrows -> Result {
        var copy = [UInt8](buffer)  // sized once, never grows
        defer { copy.wipe() }
        return try body(copy)
    }

    /// Compares in constant time; used to refuse a key file that lists the same key under two versions.
    func hasSameBytes(as other: SecretKeyBytes) -> Bool {
        guard count == other.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<count { difference |= buffer[index] ^ other.buffer[index] }
        return difference == 0
    }
}
