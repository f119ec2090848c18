// KeyRing parsing of VAULT_MASTER_KEY and key-file text, and StrictBase64.
import Foundation
@testable import CertVault

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    let text = String(decoding: bytes, as: UTF8.self)

    // Strict base64: whatever decodes re-encodes to the same text (canonical), modulo the optional padding.
    if let decoded = StrictBase64.decode(text[...]) {
        let unpadded = { (s: String) in String(s.reversed().drop { $0 == "=" }.reversed()) }
        check(unpadded(StrictBase64.encode(decoded)) == unpadded(text), "StrictBase64 is not canonical for \(text.debugDescription)")
    }

    for ring in [try? KeyRing(environmentValue: text), try? KeyRing(fileText: text)] {
        guard let ring else { continue }
        check(!ring.versions.isEmpty, "empty ring")
        check(ring.currentVersion == ring.versions.max(), "current version is not the highest")
        for version in ring.versions {
            check((1...KeyRing.maxVersion).contains(version), "version \(version) out of range")
            guard let key = ring.key(version: version) else { fatalError("fuzz property violated: version \(version) has no key") }
            key.withBytes { check($0.count == KeyRing.keyByteCount, "key of \($0.count) bytes") }
        }
        // Neither description may carry key text.
        check(!ring.description.contains(text) || text.count < 8, "ring description holds key text")
    }

    // A valid file extends to one more version that parses too.
    if let ring = try? KeyRing(fileText: text), ring.currentVersion < KeyRing.maxVersion {
        guard let rotated = try? KeyRing.rotatedKeyFile(from: text) else {
            fatalError("fuzz property violated: a valid key file cannot be rotated")
        }
        check(rotated.newVersion == ring.currentVersion + 1, "rotation skipped a version")
        guard let next = try? KeyRing(fileText: rotated.text) else {
            fatalError("fuzz property violated: rotated key file does not parse: \(rotated.text.debugDescription)")
        }
        check(next.currentVersion == rotated.newVersion, "rotated file's current version")
    }
    return 0
}
