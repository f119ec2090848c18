import Identifiers
import Testing

@testable import CertVault

/// Sealing, opening and destroying bundles, and every way a sealed bundle must refuse to open.
@Suite struct CertVaultSealTests {
    let bundle = Array("PK\u{3}\u{4} pretend this is a zip of a .p12, password.txt and a profile".utf8)

    @Test func open_afterSeal_returnsTheBundle() async throws {
        let (vault, _, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        #expect(key.keyVersion == 1)
        #expect(key.bytes.count == Envelope.wrappedKeyByteCount)
        #expect(try await vault.open(for: build, wrappedKey: key) == bundle)
    }

    @Test func seal_storesOnlyCiphertextWithTheDocumentedLayout() async throws {
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        let blob = try #require(await storage.blobs[build])
        #expect(blob.count == 5 + 12 + bundle.count + 16)
        #expect(Array(blob.prefix(5)) == [0x46, 0x41, 0x43, 0x56, 0x01])
        // Neither the plaintext nor the wrapped key is visible in what the disk keeps.
        #expect(!blob.containsSubsequence(Array(bundle.prefix(16))))
        #expect(!blob.containsSubsequence(Array(key.bytes.suffix(16))))
    }

    @Test func seal_sameBundleTwice_usesFreshKeysAndNonces() async throws {
        let (vault, storage, _) = try makeVault()
        let first = BuildID.random()
        let second = BuildID.random()
        let firstKey = try await vault.seal(bundle, for: first)
        let secondKey = try await vault.seal(bundle, for: second)
        #expect(firstKey.bytes != secondKey.bytes)
        let firstBlob = try #require(await storage.blobs[first])
        let secondBlob = try #require(await storage.blobs[second])
        #expect(firstBlob[5..<17] != secondBlob[5..<17])
        #expect(firstBlob[17...] != secondBlob[17...])
    }

    @Test func open_withAnyBitOfTheBlobFlipped_failsAsCorrupt() async throws {
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        let blob = try #require(await storage.blobs[build])
        // Header, nonce, ciphertext and tag: every bit of every field.
        for bit in 0..<(blob.count * 8) {
            var tampered = blob
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            await storage.overwrite(build, with: tampered)
            let code = await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) }
            #expect(code == .sealedBundleCorrupt, "bit \(bit)")
        }
    }

    @Test func open_withAnyBitOfTheWrappedKeyFlipped_failsAsCorrupt() async throws {
        let (vault, _, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        for bit in 0..<(key.bytes.count * 8) {
            var bytes = key.bytes
            bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            let code = await vaultErrorCode {
                try await vault.open(for: build, wrappedKey: WrappedDataKey(keyVersion: 1, bytes: bytes))
            }
            #expect(code == .sealedBundleCorrupt, "bit \(bit)")
        }
    }

    @Test func open_underAnotherBuildID_failsAsCorrupt() async throws {
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        let other = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        await storage.overwrite(other, with: try #require(await storage.blobs[build]))
        // The blob and its key, both copied to another build: the wrap's AAD no longer matches.
        #expect(await vaultErrorCode { try await vault.open(for: other, wrappedKey: key) } == .sealedBundleCorrupt)
    }

    @Test func open_blobCopiedOntoAnotherBuildsBlob_failsAsCorrupt() async throws {
        let (vault, storage, _) = try makeVault()
        let victim = BuildID.random()
        let attacker = BuildID.random()
        _ = try await vault.seal(bundle, for: victim)
        let attackerKey = try await vault.seal(Array("other certs".utf8), for: attacker)
        // The attacker's own (valid) key with the victim's blob under the attacker's id: the data key differs.
        await storage.overwrite(attacker, with: try #require(await storage.blobs[victim]))
        #expect(await vaultErrorCode { try await vault.open(for: attacker, wrappedKey: attackerKey) } == .sealedBundleCorrupt)
    }

    @Test func open_blobWhoseAADNamesAnotherBuild_failsAsCorrupt() async throws {
        // The data key is right, but the blob was sealed for another id: only the bundle AAD catches this.
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        let blob = try #require(await storage.blobs[build])
        let dataKey = try vault.unwrap(key, for: build)
        let resealed = try AES256GCM.seal(
            bundle, key: dataKey, nonce: Array(blob[5..<17]), aad: Envelope.bundleAAD(build: BuildID.random())
        )
        await storage.overwrite(build, with: Array(blob.prefix(17)) + resealed)
        #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .sealedBundleCorrupt)
    }

    @Test(arguments: [0, 1, 4, 5, 16, 17, 32])
    func open_truncatedBlob_failsAsCorrupt(keptBytes: Int) async throws {
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        let blob = try #require(await storage.blobs[build])
        await storage.overwrite(build, with: Array(blob.prefix(keptBytes)))
        #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .sealedBundleCorrupt)
        await storage.overwrite(build, with: Array(blob.dropLast(1)))
        #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .sealedBundleCorrupt)
    }

    @Test func open_garbageBlob_failsAsCorrupt() async throws {
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        for length in [1, 33, 100, 4096] {
            await storage.overwrite(build, with: randomBytes(length))
            #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .sealedBundleCorrupt)
            // Right header, random rest.
            await storage.overwrite(build, with: [0x46, 0x41, 0x43, 0x56, 0x01] + randomBytes(length + 28))
            #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .sealedBundleCorrupt)
        }
    }

    @Test(arguments: [0, 1, 60, 62, 200])
    func open_wrappedKeyOfWrongLength_failsAsCorrupt(length: Int) async throws {
        let (vault, _, _) = try makeVault()
        let build = BuildID.random()
        _ = try await vault.seal(bundle, for: build)
        let key = WrappedDataKey(keyVersion: 1, bytes: randomBytes(length))
        #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .sealedBundleCorrupt)
    }

    @Test func open_afterDestroy_failsAsNotFound() async throws {
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        try await vault.destroy(for: build)
        #expect(await storage.blobs[build] == nil)
        #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .bundleNotFound)
        try await vault.destroy(for: build)  // idempotent
    }

    @Test func open_afterDestroy_reportsTheBuildInTheError() async throws {
        let (vault, _, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(bundle, for: build)
        try await vault.destroy(for: build)
        do {
            _ = try await vault.open(for: build, wrappedKey: key)
            Issue.record("opened a destroyed bundle")
        } catch let error as VaultError {
            #expect(error.code == .bundleNotFound)
            #expect(error.build == build)
        }
    }

    @Test func seal_largerThanTheLimit_failsAsTooLargeAndStoresNothing() async throws {
        let (vault, storage, _) = try makeVault(maxBundleBytes: 1024)
        let build = BuildID.random()
        #expect(await vaultErrorCode { try await vault.seal(randomBytes(1025), for: build) } == .bundleTooLarge)
        #expect(await storage.blobs.isEmpty)
        let key = try await vault.seal(randomBytes(1024), for: build)
        #expect(try await vault.open(for: build, wrappedKey: key).count == 1024)
    }

    @Test func open_blobLargerThanTheLimit_failsAsTooLarge() async throws {
        let (vault, storage, _) = try makeVault(maxBundleBytes: 1024)
        let build = BuildID.random()
        let key = try await vault.seal(randomBytes(10), for: build)
        await storage.overwrite(build, with: randomBytes(1024 + Envelope.blobOverhead + 1))
        #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .bundleTooLarge)
    }

    @Test func seal_emptyBundle_roundTrips() async throws {
        let (vault, _, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal([], for: build)
        #expect(try await vault.open(for: build, wrappedKey: key) == [])
    }

    @Test func reseal_opensUnderTheNewBuildOnlyWithTheNewKey() async throws {
        let (vault, storage, _) = try makeVault()
        let original = BuildID.random()
        let retry = BuildID.random()
        let originalKey = try await vault.seal(bundle, for: original)
        let retryKey = try await vault.reseal(from: original, wrappedKey: originalKey, to: retry)
        #expect(try await vault.open(for: retry, wrappedKey: retryKey) == bundle)
        #expect(try await vault.open(for: original, wrappedKey: originalKey) == bundle)
        #expect(await vaultErrorCode { try await vault.open(for: retry, wrappedKey: originalKey) } == .sealedBundleCorrupt)
        #expect(await storage.blobs[original] != storage.blobs[retry])
    }

    @Test func reseal_fromDestroyedBundle_failsAsNotFoundForTheSource() async throws {
        let (vault, storage, _) = try makeVault()
        let original = BuildID.random()
        let retry = BuildID.random()
        let key = try await vault.seal(bundle, for: original)
        try await vault.destroy(for: original)
        do {
            _ = try await vault.reseal(from: original, wrappedKey: key, to: retry)
            Issue.record("resealed a destroyed bundle")
        } catch let error as VaultError {
            #expect(error.code == .bundleNotFound)
            #expect(error.build == original)
        }
        #expect(await storage.blobs[retry] == nil)
    }

    @Test func storageErrors_becomeStorageFailureWithTheUnderlyingError() async throws {
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        await storage.setFailure(StorageOutage())
        do {
            _ = try await vault.seal(bundle, for: build)
            Issue.record("sealed into a failing storage")
        } catch let error as VaultError {
            #expect(error.code == .storageFailure)
            #expect(error.underlying is StorageOutage)
            #expect(String(reflecting: error).contains("disk on fire"))
            #expect(!String(describing: error).contains("disk on fire"))
        }
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { Array(self[$0..<$0 + needle.count]) == needle }
    }
}
