import Crypto
import Identifiers
import Testing

@testable import CertVault

/// The documented byte layouts, checked by decoding them with swift-crypto from the documentation alone.
@Suite struct EnvelopeFormatTests {
    @Test(arguments: [1, 2, 300])
    func sealedBundle_decodesWithSwiftCryptoFollowingTheDocumentedLayout(keyVersion: Int) async throws {
        let (ring, keys) = try makeRing(versions: Array(1...keyVersion).filter { $0 == 1 || $0 == keyVersion })
        let storage = InMemorySealedStorage()
        let vault = CertVault(keyRing: ring, storage: storage)
        let build = try #require(BuildID("retry_of-Build42"))
        let bundle = randomBytes(777)
        let wrapped = try await vault.seal(bundle, for: build)
        #expect(wrapped.keyVersion == keyVersion)

        // Wrapped key: 0x01 | nonce(12) | encrypted key(32) | tag(16).
        let id = Array(build.rawValue.utf8)
        let w = wrapped.bytes
        #expect(w.count == 61)
        #expect(w[0] == 0x01)
        let version = UInt32(keyVersion)
        let wrapAAD = Array("free-agent/certvault/dek".utf8) + [0x00, 0x01]
            + [UInt8(version >> 24), UInt8(version >> 16 & 0xFF), UInt8(version >> 8 & 0xFF), UInt8(version & 0xFF)]
            + [UInt8(id.count)] + id
        let wrapBox = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: w[1..<13]), ciphertext: w[13..<45], tag: w[45..<61]
        )
        let masterKey = SymmetricKey(data: try #require(keys[keyVersion]))
        let dataKey = try AES.GCM.open(wrapBox, using: masterKey, authenticating: wrapAAD)
        #expect(dataKey.count == 32)

        // Blob: "FACV" | 0x01 | nonce(12) | ciphertext | tag(16).
        let blob = try #require(await storage.blobs[build])
        #expect(Array(blob[0..<5]) == Array("FACV".utf8) + [0x01])
        let bundleAAD = Array("free-agent/certvault/bundle".utf8) + [0x00, 0x01, UInt8(id.count)] + id
        let blobBox = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: blob[5..<17]), ciphertext: blob[17..<(blob.count - 16)], tag: blob.suffix(16)
        )
        let opened = try AES.GCM.open(blobBox, using: SymmetricKey(data: dataKey), authenticating: bundleAAD)
        #expect(Array(opened) == bundle)
    }

    @Test func open_blobFromAStorageThatIgnoresMaxBytes_isStillRefusedWhenTooLarge() async throws {
        let (ring, _) = try makeRing(versions: [1])
        let storage = LaxStorage()
        let vault = CertVault(keyRing: ring, storage: storage, maxBundleBytes: 100)
        let build = BuildID.random()
        let key = try await vault.seal(randomBytes(100), for: build)
        await storage.put(randomBytes(100 + Envelope.blobOverhead + 1), for: build)
        #expect(await vaultErrorCode { try await vault.open(for: build, wrappedKey: key) } == .bundleTooLarge)
    }

    @Test func sealAndOpen_manyBuildsConcurrently_keepEachBundleWithItsBuild() async throws {
        let (vault, _, _) = try makeVault(versions: [1, 2])
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let build = BuildID.random()
                    let bundle = Array("bundle \(index)".utf8) + randomBytes(index * 50)
                    let key = try await vault.seal(bundle, for: build)
                    return try await vault.open(for: build, wrappedKey: key) == bundle
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 64)
        #expect(results.allSatisfy { $0 })
    }
}

/// A storage that returns whatever it holds, whatever `maxBytes` says.
actor LaxStorage: SealedBlobStorage {
    private var blobs: [BuildID: [UInt8]] = [:]
    func put(_ bytes: [UInt8], for build: BuildID) { blobs[build] = bytes }
    func putSealed(_ bytes: [UInt8], for build: BuildID) async throws { blobs[build] = bytes }
    func getSealed(for build: BuildID, maxBytes: Int) async throws -> [UInt8] {
        guard let blob = blobs[build] else { throw VaultError.bundleNotFound(for: build) }
        return blob
    }
    func removeSealed(for build: BuildID) async throws { blobs[build] = nil }
}
