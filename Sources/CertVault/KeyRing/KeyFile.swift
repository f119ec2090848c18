#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Reading the key file into bytes we can wipe, and producing its rotated text.
enum KeyFile {
    /// A key file holds a few lines; anything this large is the wrong file.
    static let maxByteCount = 64 * 1024

    /// The file's bytes, read with POSIX calls (not Foundation) so that no unwipeable copy is made on the way.
    ///
    /// - Throws: ``VaultError/Code/missingMasterKey`` when the file cannot be opened or read (the message says
    ///   why with the system's words; the path goes to `debugDescription` only);
    ///   ``VaultError/Code/malformedMasterKey`` when it is larger than ``maxByteCount``.
    static func contents(atPath path: String) throws -> [UInt8] {
        let variable = KeyRing.fileVariable
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = systemMessage(errno)
            throw VaultError.missingMasterKey("cannot open \(variable): \(reason)", debugDetail: "path: \(path)")
        }
        defer { close(descriptor) }
        // Read straight into a buffer of the final size so that it never reallocates and leaves key bytes behind.
        var bytes = [UInt8](repeating: 0, count: maxByteCount + 1)
        var filled = 0
        while filled < bytes.count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if result == 0 { break }
            if result < 0 {
                if errno == EINTR { continue }
                let reason = systemMessage(errno)
                bytes.wipe()
                throw VaultError.missingMasterKey("cannot read \(variable): \(reason)", debugDetail: "path: \(path)")
            }
            filled += result
        }
        guard filled <= maxByteCount else {
            bytes.wipe()
            throw VaultError.malformedMasterKey("\(variable) is larger than \(maxByteCount) bytes; is it the right file?")
        }
        var contents = Array(bytes[..<filled])
        bytes.wipe()
        defer { contents.wipe() }
        return contents
    }

    private static func systemMessage(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "error \(code)" }
        return String(cString: message)
    }
}

extension KeyRing {
    /// The text of a key file with a freshly generated key appended as the next version, for `vault rotate-key`.
    ///
    /// `existingText` is the current file (empty when there is none yet: the new key is then version 1). It is
    /// parsed first and must be valid, so a broken file is never extended. Comments and lines are kept as they
    /// are; one line `<next version>:<base64 of 32 random bytes>` is appended. The caller writes the result
    /// atomically (temporary file with mode 0600, `fsync`, `rename`), reloads the ring, and rewraps every live
    /// data key with ``CertVault/rewrap(_:for:)`` before any old version is removed from the file.
    ///
    /// The returned `String` holds every key as text and cannot be wiped (see ``VaultMemory``); keep it no
    /// longer than the write.
    ///
    /// - Throws: the errors of parsing a key file; ``VaultError/Code/malformedMasterKey`` when the current
    ///   version is already ``maxVersion``; ``VaultError/Code/cryptoFailure`` if the random generator fails.
    public static func rotatedKeyFile(from existingText: String) throws -> (text: String, newVersion: Int) {
        let hasKeys = existingText.split(whereSeparator: \.isNewline).contains { line in
            let trimmed = line.trimmingWhitespace()
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
        var newVersion = 1
        if hasKeys {
            let ring = try KeyRing(fileText: existingText)
            guard ring.currentVersion < maxVersion else {
                throw VaultError.malformedMasterKey("\(fileVariable): version \(maxVersion) is the last one")
            }
            newVersion = ring.currentVersion + 1
        }
        var key = try SecureRandom.bytes(keyByteCount)
        defer { key.wipe() }
        var text = existingText
        if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
        if !hasKeys, text.isEmpty {
            text += "# CertVault master keys: <version>:<base64 of 32 bytes>. The highest version wraps new keys.\n"
        }
        text += "\(newVersion):\(StrictBase64.encode(key))\n"
        return (text, newVersion)
    }
}
