internal import COpenSSL

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
/// - Nothing here stops the kernel from swapping a page out or a core dump from capturing it; run the
///   controller with swap encrypted or disabled and core dumps off.
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
/// `@unchecked Sendable` because a raw pointer is not `Sendable`; it is safe here because the buffer is
/// immutable after `init` (no method writes to it) and freed only in `deinit`, when no other reference exists.
final class SecretKeyBytes: @unchecked Sendable {
    private let buffer: UnsafeMutableRawBufferPointer

    /// Copies `bytes` into the private buffer and wipes `bytes`.
    init(consuming bytes: inout [UInt8]) {
        buffer = .allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        bytes.wipe()
    }

    deinit {
        fa_cleanse(buffer.baseAddress, buffer.count)
        buffer.deallocate()
    }

    var count: Int { buffer.count }

    /// A temporary `[UInt8]` copy handed to `body` and wiped when `body` returns, so that the copy's lifetime
    /// is one cipher call. (`body` must not keep it.)
    func withBytes<Result>(_ body: ([UInt8]) throws -> Result) rethrows -> Result {
        var copy = [UInt8](buffer)
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
