import ArtifactStore
import Foundation
import Identifiers

/// The contents of a signing-certs ZIP (`*.p12`, `password.txt`, `*.mobileprovision`), read in memory only.
struct CertsBundle {
    var p12: [UInt8]
    var password: String
    var provisioningProfiles: [[UInt8]]

    /// Rejects a certs upload that is not a clean ZIP (traversal, links, bombs), before it is sealed.
    static func inspect(_ bytes: [UInt8], uploadLimit: Int64) throws {
        _ = try ArchiveReader.entries(ofZip: bytes, limits: ArchiveLimits.defaults(forUploadLimit: uploadLimit))
    }

    /// Reads the bundle; entries are matched by file name wherever they sit in the ZIP.
    static func read(_ bytes: [UInt8], uploadLimit: Int64) throws -> CertsBundle {
        let entries = try ArchiveReader.entries(ofZip: bytes, limits: ArchiveLimits.defaults(forUploadLimit: uploadLimit))
        var bundle = CertsBundle(p12: [], password: "", provisioningProfiles: [])
        for entry in entries {
            let name = entry.name.split(separator: "/").last.map(String.init)?.lowercased() ?? ""
            if name.hasSuffix(".p12"), bundle.p12.isEmpty {
                bundle.p12 = entry.contents
            } else if name == "password.txt" {
                bundle.password = String(decoding: entry.contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } else if name.hasSuffix(".mobileprovision") {
                bundle.provisioningProfiles.append(entry.contents)
            }
        }
        return bundle
    }

    /// The JSON `certs-secure` answers: base64 p12, the trimmed password, a fresh random keychain password
    /// (24 bytes, base64) and the profiles.
    var secureJSON: JSONValue {
        var generator = SystemRandomNumberGenerator()
        let keychain = (0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return [
            "p12": .string(Data(p12).base64EncodedString()),
            "p12Password": .string(password),
            "keychainPassword": .string(Data(keychain).base64EncodedString()),
            "provisioningProfiles": .array(provisioningProfiles.map { .string(Data($0).base64EncodedString()) }),
        ]
    }

    mutating func zero() {
        p12.resetAndZero()
        for index in provisioningProfiles.indices { provisioningProfiles[index].resetAndZero() }
    }
}
