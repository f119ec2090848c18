internal import COpenSSL

/// AES-256-GCM through OpenSSL's EVP interface, with nothing else attached: no storage, no key ring, no format.
///
/// Internal on purpose: a public "encrypt with this key and nonce" invites nonce reuse. The vault always draws
/// nonces from ``SecureRandom``; the tests reach this type with `@testable import` to run the NIST vectors.
enum AES256GCM {
    static let keyByteCount = 32
    /// The nonce length the vault uses (96 bits, GCM's native IV length). Other lengths work, for the vectors.
    static let nonceByteCount = 12
    static let tagByteCount = 16

    /// Encrypts `plaintext` and returns `ciphertext || tag` (the tag is the last 16 bytes).
    ///
    /// - Throws: ``VaultError/Code/cryptoFailure`` when the key or nonce has the wrong size or OpenSSL fails.
    static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        guard key.count == keyByteCount, !nonce.isEmpty, plaintext.count <= Int(Int32.max) - tagByteCount else {
            throw VaultError.cryptoFailure("AES-256-GCM seal: bad key, nonce or plaintext size")
        }
        var output = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        let status = output.withUnsafeMutableBufferPointer { out in
            key.withUnsafeBufferPointer { key in
                nonce.withUnsafeBufferPointer { nonce in
                    aad.withUnsafeBufferPointer { aad in
                        plaintext.withUnsafeBufferPointer { plaintext in
                            fa_aes256gcm_seal(
                                key.baseAddress, nonce.baseAddress, nonce.count,
                                aad.baseAddress, aad.count,
                                plaintext.baseAddress, plaintext.count,
                                out.baseAddress, out.baseAddress! + plaintext.count
                            )
                        }
                    }
                }
            }
        }
        guard status == 1 else {
            output.wipe()
            throw VaultError.cryptoFailure("AES-256-GCM seal")
        }
        return output
    }

    /// Decrypts `ciphertext || tag` and returns the plaintext only when the tag verifies.
    ///
    /// - Throws: ``VaultError/Code/sealedBundleCorrupt`` when the input is shorter than a tag or does not
    ///   authenticate under `key`, `nonce` and `aad`; ``VaultError/Code/cryptoFailure`` when the key or nonce
    ///   has the wrong size or OpenSSL fails otherwise.
    static func open(_ sealed: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        guard key.count == keyByteCount, !nonce.isEmpty else {
            throw VaultError.cryptoFailure("AES-256-GCM open: bad key or nonce size")
        }
        guard sealed.count >= tagByteCount, sealed.count <= Int(Int32.max) else {
            throw VaultError.sealedBundleCorrupt("shorter than a GCM tag")
        }
        let ciphertextCount = sealed.count - tagByteCount
        var output = [UInt8](repeating: 0, count: ciphertextCount)
        let status = output.withUnsafeMutableBufferPointer { out in
            key.withUnsafeBufferPointer { key in
                nonce.withUnsafeBufferPointer { nonce in
                    aad.withUnsafeBufferPointer { aad in
                        sealed.withUnsafeBufferPointer { sealed in
                            fa_aes256gcm_open(
                                key.baseAddress, nonce.baseAddress, nonce.count,
                                aad.baseAddress, aad.count,
                                sealed.baseAddress, ciphertextCount,
                                sealed.baseAddress! + ciphertextCount, out.baseAddress
                            )
                        }
                    }
                }
            }
        }
        switch status {
        case 1:
            return output
        case 0:
            // GCM writes the plaintext before it can check the tag: those unauthenticated bytes must not linger.
            output.wipe()
            OpenSSLErrors.discard()
            throw VaultError.sealedBundleCorrupt("authentication failed")
        default:
            output.wipe()
            throw VaultError.cryptoFailure("AES-256-GCM open")
        }
    }
}

/// Bytes from OpenSSL's CSPRNG (`RAND_bytes`).
enum SecureRandom {
    /// `count` random bytes. Throws ``VaultError/Code/cryptoFailure`` if the generator fails (unseeded, say),
    /// rather than ever returning predictable bytes.
    static func bytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        let status = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        guard status == 1 else {
            bytes.wipe()
            throw VaultError.cryptoFailure("RAND_bytes")
        }
        return bytes
    }
}

/// The thread-local OpenSSL error queue, which must be emptied after each failure: a stale entry would be
/// blamed on the next, unrelated failure on the same thread.
enum OpenSSLErrors {
    /// Empties the queue and returns its entries as OpenSSL's text (library and reason; never data).
    static func drain() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "no OpenSSL error queued" : messages.joined(separator: "; ")
    }

    /// Empties the queue when the failure is already understood (a tag mismatch).
    static func discard() { ERR_clear_error() }
}
