import Identifiers
import Testing

@testable import CertVault

/// What `"\(error)"` may show (the code and safe configuration hints) and what only logs may show.
@Suite struct VaultErrorTests {
    @Test func description_ofARuntimeError_namesTheCodeOnly() async throws {
        let (vault, storage, _) = try makeVault()
        let build = BuildID.random()
        let key = try await vault.seal(Array("MyCompany Distribution.p12".utf8), for: build)
        await storage.overwrite(build, with: [0x46, 0x41, 0x43, 0x56, 0x01] + randomBytes(40))
        do {
            _ = try await vault.open(for: build, wrappedKey: key)
            Issue.record("opened a garbage blob")
        } catch let error as VaultError {
            #expect(String(describing: error) == "VaultError.sealedBundleCorrupt")
            #expect(!String(describing: error).contains(build.rawValue))
            let logged = String(reflecting: error)
            #expect(logged.contains(build.rawValue))
            #expect(logged.contains("authentication failed"))
            #expect(logged.contains("AES256GCM.swift:"))
            #expect(!logged.contains("Distribution"))
        }
    }

    @Test func factories_recordWhereTheyWereCalled() {
        let error = VaultError.bundleNotFound(for: nil)
        #expect(error.file.hasSuffix("VaultErrorTests.swift"))
        #expect(error.line > 0)
        #expect(String(describing: error) == "VaultError.bundleNotFound")
    }

    @Test func bundleTooLarge_saysTheLimitButNothingElse() {
        let build = BuildID.random()
        let error = VaultError.bundleTooLarge(for: build, limit: 1024)
        #expect(error.description == "VaultError.bundleTooLarge: the bundle is larger than the limit of 1024 bytes")
        #expect(String(reflecting: error).contains(build.rawValue))
    }

    @Test func wrappedDataKey_descriptionHidesTheBytes() {
        let key = WrappedDataKey(keyVersion: 3, bytes: [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(key.description == "WrappedDataKey(version: 3, 4 bytes)")
    }

    @Test func wipe_zeroesTheArrayInPlace() {
        var secret = randomBytes(64)
        secret[0] = 1
        VaultMemory.wipe(&secret)
        #expect(secret == [UInt8](repeating: 0, count: 64))
    }
}
