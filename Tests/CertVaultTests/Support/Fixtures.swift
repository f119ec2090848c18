@testable import CertVault
import Identifiers

/// Hex text to bytes; traps on bad input because the fixtures are constants.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8)
    precondition(digits.count % 2 == 0)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

/// `count` bytes from the system generator, for keys and payloads that must differ run to run.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// A random 32-byte key and its standard base64 text.
func freshKey() -> (bytes: [UInt8], base64: String) {
    let bytes = randomBytes(32)
    return (bytes, StrictBase64.encode(bytes))
}

/// A ring holding a fresh random key for each of `versions`, plus the raw keys for building other rings.
func makeRing(versions: [Int]) throws -> (ring: KeyRing, keys: [Int: [UInt8]]) {
    var keys: [Int: [UInt8]] = [:]
    for version in versions { keys[version] = randomBytes(32) }
    var consumed = keys
    return (try KeyRing(keys: &consumed), keys)
}

/// A ring from raw keys without wiping the caller's copy.
func ring(_ keys: [Int: [UInt8]]) throws -> KeyRing {
    var copy = keys.mapValues { Array($0) }
    return try KeyRing(keys: &copy)
}

/// A vault over a fresh in-memory storage.
func makeVault(versions: [Int] = [1], maxBundleBytes: Int = CertVault.maxBundleBytes) throws
    -> (vault: CertVault, storage: InMemorySealedStorage, keys: [Int: [UInt8]])
{
    let (ring, keys) = try makeRing(versions: versions)
    let storage = InMemorySealedStorage()
    return (CertVault(keyRing: ring, storage: storage, maxBundleBytes: maxBundleBytes), storage, keys)
}

/// The code of the `VaultError` thrown by `body`, or `nil` when it succeeds or throws something else.
func vaultErrorCode<T>(_ body: () async throws -> T) async -> VaultError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as VaultError {
        return error.code
    } catch {
        return nil
    }
}

/// The `VaultError` thrown by a synchronous `body`, or `nil`.
func vaultError<T>(_ body: () throws -> T) -> VaultError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? VaultError
    }
}
