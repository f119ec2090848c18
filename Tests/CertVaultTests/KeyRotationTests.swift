import Identifiers
import Testing

@testable import CertVault

/// Master-key rotation: adding a version, rewrapping, and what happens to keys of versions the ring lacks.
@Suite struct KeyRotationTests {
    let bundle = randomBytes(3000)

    @Test func rotation_oldKeysOpenBeforeRewrapAndEverythingOpensAfter() async throws {
        let (oldRing, keys) = try makeRing(versions: [1])
        let storage = InMemorySealedStorage()
        let before = CertVault(keyRing: oldRing, storage: storage)
        let builds = (0..<5).map { _ in BuildID.random() }
        var wrapped: [BuildID: WrappedDataKey] = [:]
        for build in builds { wrapped[build] = try await before.seal(bundle, for: build) }

        var rotatedKeys = keys
        rotatedKeys[2] = randomBytes(32)
        let after = CertVault(keyRing: try ring(rotatedKeys), storage: storage)
        #expect(after.currentKeyVersion == 2)
        for build in builds {
            let old = try #require(wrapped[build])
            // Still version 1, still opens under the rotated ring.
            #expect(try await after.open(for: build, wrappedKey: old) == bundle)
            let new = try after.rewrap(old, for: build)
            #expect(new.keyVersion == 2)
            #expect(new.bytes != old.bytes)
            #expect(try await after.open(for: build, wrappedKey: new) == bundle)
            wrapped[build] = new
        }
        // New seals use the new version.
        #expect(try await after.seal(bundle, for: BuildID.random()).keyVersion == 2)

        // Once every key is rewrapped, version 1 can leave the ring.
        let retired = CertVault(keyRing: try ring([2: rotatedKeys[2]!]), storage: storage)
        for build in builds {
            #expect(try await retired.open(for: build, wrappedKey: #require(wrapped[build])) == bundle)
        }
    }

    @Test func rewrap_keyAlreadyCurrent_returnsItUnchanged() async throws {
        let (vault, _, _) = try makeVault(versions: [1, 2])
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        #expect(try vault.rewrap(key, for: build) == key)
    }

    @Test func rewrap_tamperedOrForeignKey_fails() async throws {
        let (vault, _, _) = try makeVault(versions: [1, 2])
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        var bytes = key.bytes
        bytes[20] ^= 0x01
        #expect(vaultError { try vault.rewrap(WrappedDataKey(keyVersion: 2, bytes: bytes), for: build) }?.code == .sealedBundleCorrupt)
        #expect(vaultError { try vault.rewrap(key, for: BuildID.random()) }?.code == .sealedBundleCorrupt)
    }

    @Test func open_keyOfAVersionTheRingLacks_failsAsUnknownVersion() async throws {
        let (vault, storage, keys) = try makeVault(versions: [1, 2])
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        let onlyOne = CertVault(keyRing: try ring([1: keys[1]!]), storage: storage)
        #expect(await vaultErrorCode { try await onlyOne.open(for: build, wrappedKey: key) } == .unknownKeyVersion)
        #expect(vaultError { try onlyOne.rewrap(key, for: build) }?.code == .unknownKeyVersion)
        let missing = WrappedDataKey(keyVersion: 7, bytes: key.bytes)
        let error = try #require(vaultError { try vault.rewrap(missing, for: build) })
        #expect(error.code == .unknownKeyVersion)
        #expect(error.build == build)
    }

    @Test func open_keyRelabelledToAnotherVersion_failsAsCorrupt() async throws {
        let (vault, _, _) = try makeVault(versions: [1, 2])
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        let relabelled = WrappedDataKey(keyVersion: 1, bytes: key.bytes)
        #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: relabelled) } == .sealedBundleCorrupt)
    }

    @Test func open_sameBytesUnderAReplacedKeyOfTheSameVersion_failsAsCorrupt() async throws {
        // An operator who regenerates "version 1" instead of adding version 2 loses access: detected, not garbage.
        let (vault, storage, _) = try makeVault(versions: [1])
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        let replaced = CertVault(keyRing: try ring([1: randomBytes(32)]), storage: storage)
        #expect(await vaultErrorCode { try await replaced.open(for: build, wrappedKey: key) } == .sealedBundleCorrupt)
    }

    @Test func rotatedKeyFile_thenRewrap_keepsBundlesOpenable() async throws {
        let (initial, _) = try KeyRing.rotatedKeyFile(from: "# keys\n")
        let storage = InMemorySealedStorage()
        let v1 = CertVault(keyRing: try KeyRing(fileText: initial), storage: storage)
        let build = BuildID.random()
        let key = try await v1.seal(bundle, for: build)

        let (rotated, version) = try KeyRing.rotatedKeyFile(from: initial)
        #expect(version == 2)
        let v2 = CertVault(keyRing: try KeyRing(fileText: rotated), storage: storage)
        let rewrapped = try v2.rewrap(key, for: build)
        #expect(rewrapped.keyVersion == 2)
        #expect(try await v2.open(for: build, wrappedKey: rewrapped) == bundle)
    }
}
