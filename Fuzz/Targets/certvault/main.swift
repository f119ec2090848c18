// CertVault.open on hostile stored bytes: the sealed blob (from storage) and the wrapped key (from the database)
// are replaced by or XOR-ed with the input. Properties: never crash; never open anything but the untouched pair,
// and then only to the original plaintext; Envelope's parsers never crash on any bytes.
import Foundation
import Identifiers
@testable import CertVault

/// In-memory storage; the fuzzer is single-threaded and waits for each call.
final class MemoryStorage: SealedBlobStorage, @unchecked Sendable {
    var blobs: [BuildID: [UInt8]] = [:]
    func putSealed(_ bytes: [UInt8], for build: BuildID) async throws { blobs[build] = bytes }
    func getSealed(for build: BuildID, maxBytes: Int) async throws -> [UInt8] {
        guard let blob = blobs[build] else { throw VaultError.bundleNotFound(for: build) }
        guard blob.count <= maxBytes else { throw VaultError.bundleTooLarge(for: build, limit: maxBytes) }
        return blob
    }
    func removeSealed(for build: BuildID) async throws { blobs[build] = nil }
}

private struct Fixture: @unchecked Sendable {
    let vault: CertVault
    let storage: MemoryStorage
    let build = BuildID("fuzz-build-0001")!
    let other = BuildID("fuzz-build-0002")!
    let plaintext: [UInt8] = Array("PK\u{3}\u{4} a certs bundle, as far as the vault cares".utf8)
    let blob: [UInt8]
    let wrapped: WrappedDataKey

    init() {
        var keys: [Int: [UInt8]] = [1: Array(repeating: 0x11, count: 32), 2: Array(repeating: 0x22, count: 32)]
        let ring = try! KeyRing(keys: &keys)
        let storage = MemoryStorage()
        let vault = CertVault(keyRing: ring, storage: storage, maxBundleBytes: 4096)
        let build = self.build
        let plaintext = self.plaintext
        let wrapped = runBlocking { try! await vault.seal(plaintext, for: build) }
        self.vault = vault
        self.storage = storage
        self.wrapped = wrapped
        self.blob = storage.blobs[build]!
    }
}

private let fixture = Fixture()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard let mode = bytes.first else { return 0 }
    let payload = Array(bytes.dropFirst())
    let f = fixture

    // The parsers alone, on raw bytes.
    _ = try? Envelope.parseBlob(payload, build: f.build)
    _ = try? Envelope.parseWrappedKey(payload, build: f.build)

    func xor(_ base: [UInt8]) -> [UInt8] {
        var out = base
        for (index, byte) in payload.enumerated() where index < out.count { out[index] ^= byte }
        return out
    }
    var blob = f.blob
    var key = f.wrapped
    var build = f.build
    switch mode % 6 {
    case 0: blob = payload                                        // any bytes in storage
    case 1: blob = xor(f.blob)                                   // bit flips in the stored blob
    case 2: key = WrappedDataKey(keyVersion: key.keyVersion, bytes: payload)
    case 3: key = WrappedDataKey(keyVersion: key.keyVersion, bytes: xor(f.wrapped.bytes))
    case 4: key = WrappedDataKey(keyVersion: Int(mode >> 3) - 8, bytes: f.wrapped.bytes)   // another version
    default:                                                     // blob truncated or extended, or another build
        blob = payload.count % 2 == 0 ? Array(f.blob.prefix(payload.count)) : f.blob + payload
        if payload.first.map({ $0 & 1 == 1 }) ?? false { build = f.other }
    }
    f.storage.blobs[build] = blob
    let opened: [UInt8]? = runBlocking { [build, key] in try? await f.vault.open(for: build, wrappedKey: key) }
    f.storage.blobs[build] = nil
    f.storage.blobs[f.build] = f.blob

    let untouched = blob == f.blob && key == f.wrapped && build == f.build
    if let opened {
        check(untouched, "opened a tampered pair (mode \(mode % 6))")
        check(opened == f.plaintext, "opened to different plaintext")
    } else {
        check(!untouched, "the untouched pair failed to open")
    }
    return 0
}
