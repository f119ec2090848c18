import Foundation
import Testing

@testable import CertVault

/// Loading master keys from the environment and from a key file, and the errors an operator sees.
@Suite struct KeyRingTests {
    @Test func load_bareBase64InTheVariable_isVersionOne() throws {
        let key = freshKey()
        let ring = try KeyRing.load(environmentValue: key.base64, filePath: nil)
        #expect(ring.versions == [1])
        #expect(ring.currentVersion == 1)
    }

    @Test func load_unpaddedBase64_isAccepted() throws {
        let key = freshKey()
        let ring = try KeyRing.load(environmentValue: String(key.base64.dropLast()), filePath: nil)
        #expect(ring.versions == [1])
    }

    @Test func load_valueWithTrailingNewline_isAccepted() throws {
        // What `echo "$KEY" > secret` and many env-file loaders leave behind.
        let key = freshKey()
        let ring = try KeyRing.load(environmentValue: key.base64 + "\n", filePath: nil)
        #expect(ring.versions == [1])
    }

    @Test func load_versionedListInTheVariable_takesTheHighestAsCurrent() throws {
        let (one, two, five) = (freshKey(), freshKey(), freshKey())
        let value = "2:\(two.base64), 1:\(one.base64) ,5:\(five.base64)"
        let ring = try KeyRing.load(environmentValue: value, filePath: nil)
        #expect(ring.versions == [1, 2, 5])
        #expect(ring.currentVersion == 5)
    }

    @Test(arguments: [nil, ""] as [String?])
    func load_nothingSet_failsAsMissingNamingBothVariables(_ value: String?) throws {
        let error = try #require(vaultError { try KeyRing.load(environmentValue: value, filePath: value) })
        #expect(error.code == .missingMasterKey)
        #expect(error.description.contains("VAULT_MASTER_KEY"))
        #expect(error.description.contains("VAULT_MASTER_KEY_FILE"))
    }

    @Test func load_fromAnEnvironmentDictionary_readsTheFileVariable() throws {
        let key = freshKey()
        let ring = try withKeyFile("4:\(key.base64)\n") { path in
            try KeyRing.load(environment: ["VAULT_MASTER_KEY_FILE": path, "UNRELATED": "x"])
        }
        #expect(ring.versions == [4])
        #expect(vaultError { try KeyRing.load(environment: [:]) }?.code == .missingMasterKey)
    }

    @Test func load_bothSet_failsAsMalformed() throws {
        let error = try #require(vaultError { try KeyRing.load(environmentValue: freshKey().base64, filePath: "/k") })
        #expect(error.code == .malformedMasterKey)
    }

    struct BadValue: Sendable, CustomTestStringConvertible {
        var name: String
        var value: String
        var expectedPhrase: String
        var testDescription: String { name }
    }

    static let secretLike = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="  // base64 of 32 bytes of text

    static let badValues: [BadValue] = [
        BadValue(name: "short key", value: StrictBase64.encode(randomBytes(16)), expectedPhrase: "16 bytes, expected 32"),
        BadValue(name: "long key", value: StrictBase64.encode(randomBytes(48)), expectedPhrase: "48 bytes, expected 32"),
        BadValue(name: "one byte too long", value: StrictBase64.encode(randomBytes(33)), expectedPhrase: "33 bytes"),
        BadValue(name: "bad character", value: "!" + String(secretLike.dropFirst()), expectedPhrase: "not valid standard base64"),
        BadValue(name: "base64url alphabet", value: "-_" + String(secretLike.dropFirst(2)), expectedPhrase: "not valid standard base64"),
        BadValue(name: "impossible length", value: String(secretLike.prefix(41)), expectedPhrase: "not valid standard base64"),
        BadValue(name: "padding in the middle", value: "AAAA=AAA" + secretLike, expectedPhrase: "not valid standard base64"),
        BadValue(name: "non-canonical last symbol", value: String(secretLike.dropLast(2)) + "J=", expectedPhrase: "not valid standard base64"),
        BadValue(name: "all zero", value: StrictBase64.encode([UInt8](repeating: 0, count: 32)), expectedPhrase: "all zero"),
        BadValue(name: "version zero", value: "0:\(secretLike)", expectedPhrase: "between 1 and"),
        BadValue(name: "negative version", value: "-1:\(secretLike)", expectedPhrase: "not a positive integer"),
        BadValue(name: "version with letters", value: "v2:\(secretLike)", expectedPhrase: "not a positive integer"),
        BadValue(name: "huge version", value: "99999999999:\(secretLike)", expectedPhrase: "not a positive integer"),
        BadValue(name: "empty key after version", value: "1:", expectedPhrase: "key is empty"),
        BadValue(name: "duplicate version", value: "1:\(secretLike),1:\(StrictBase64.encode(randomBytes(32)))", expectedPhrase: "more than once"),
        BadValue(name: "same key twice", value: "1:\(secretLike),2:\(secretLike)", expectedPhrase: "same key as version 1"),
        BadValue(name: "bare key in a list", value: "1:\(secretLike),\(StrictBase64.encode(randomBytes(32)))", expectedPhrase: "entry 2 has no version"),
        BadValue(name: "trailing comma", value: "1:\(secretLike),", expectedPhrase: "entry 2 is empty"),
    ]

    @Test(arguments: badValues)
    func load_malformedVariable_failsNamingTheProblemButNotTheKey(_ bad: BadValue) throws {
        let error = try #require(vaultError { try KeyRing.load(environmentValue: bad.value, filePath: nil) })
        #expect(error.code == .malformedMasterKey)
        #expect(error.description.contains("VAULT_MASTER_KEY"))
        #expect(error.description.contains(bad.expectedPhrase), "\(error.description)")
        expectNoKeyText(of: bad.value, in: error)
    }

    @Test func load_fileWithCommentsBlankLinesAndCRLF_readsEveryVersion() throws {
        let (one, two) = (freshKey(), freshKey())
        let text = "# master keys\r\n\r\n   # indented comment\r\n\(one.base64)\r\n  2 : \(two.base64)  \r\n"
        let ring = try withKeyFile(text) { try KeyRing.load(environmentValue: nil, filePath: $0) }
        #expect(ring.versions == [1, 2])
        #expect(ring.currentVersion == 2)
    }

    @Test func load_fileWithABadLine_failsNamingTheLineButNotTheKey() throws {
        let good = freshKey()
        let short = StrictBase64.encode(randomBytes(31))
        let text = "# keys\n1:\(good.base64)\n2:\(short)\n"
        let error = try #require(vaultError { try withKeyFile(text) { try KeyRing.load(environmentValue: nil, filePath: $0) } })
        #expect(error.code == .malformedMasterKey)
        #expect(error.description.contains("VAULT_MASTER_KEY_FILE line 3"))
        #expect(error.description.contains("31 bytes"))
        expectNoKeyText(of: short, in: error)
        expectNoKeyText(of: good.base64, in: error)
    }

    @Test func load_fileWithOnlyComments_failsAsMalformed() throws {
        let error = try #require(vaultError { try withKeyFile("# nothing yet\n\n") { try KeyRing.load(environmentValue: nil, filePath: $0) } })
        #expect(error.code == .malformedMasterKey)
        #expect(error.description.contains("holds no key"))
    }

    @Test func load_missingFile_failsAsMissingWithoutThePathInTheDescription() throws {
        let path = "/nonexistent-\(UUID().uuidString)/master.keys"
        let error = try #require(vaultError { try KeyRing.load(environmentValue: nil, filePath: path) })
        #expect(error.code == .missingMasterKey)
        #expect(error.description.contains("VAULT_MASTER_KEY_FILE"))
        #expect(!error.description.contains(path))
        #expect(String(reflecting: error).contains(path))
    }

    @Test func load_oversizedFile_failsAsMalformed() throws {
        let text = "# " + String(repeating: "x", count: KeyFile.maxByteCount) + "\n1:\(freshKey().base64)\n"
        let error = try #require(vaultError { try withKeyFile(text) { try KeyRing.load(environmentValue: nil, filePath: $0) } })
        #expect(error.code == .malformedMasterKey)
    }

    @Test func ringDescriptions_showVersionsOnly() throws {
        let key = freshKey()
        let ring = try KeyRing.load(environmentValue: "3:\(key.base64)", filePath: nil)
        for text in [String(describing: ring), String(reflecting: ring), dumped(ring)] {
            #expect(text.contains("3"))
            #expect(!text.contains(key.base64))
        }
    }

    @Test func rotatedKeyFile_appendsTheNextVersionAndKeepsEverythingElse() throws {
        let (one, two) = (freshKey(), freshKey())
        let original = "# production keys\n1:\(one.base64)\n2:\(two.base64)"
        let (text, version) = try KeyRing.rotatedKeyFile(from: original)
        #expect(version == 3)
        #expect(text.hasPrefix(original + "\n"))
        let ring = try KeyRing(fileText: text)
        #expect(ring.versions == [1, 2, 3])
        let newLine = try #require(text.split(separator: "\n").last)
        #expect(newLine.hasPrefix("3:"))
        #expect(StrictBase64.decode(newLine.dropFirst(2))?.count == 32)
    }

    @Test func rotatedKeyFile_fromNothing_startsAtVersionOne() throws {
        let (text, version) = try KeyRing.rotatedKeyFile(from: "")
        #expect(version == 1)
        #expect(try KeyRing(fileText: text).versions == [1])
        let (again, next) = try KeyRing.rotatedKeyFile(from: text)
        #expect(next == 2)
        #expect(try KeyRing(fileText: again).versions == [1, 2])
    }

    @Test func rotatedKeyFile_refusesToExtendABrokenFile() throws {
        let error = vaultError { try KeyRing.rotatedKeyFile(from: "1:not-base64!\n") }
        #expect(error?.code == .malformedMasterKey)
    }

    @Test func strictBase64_roundTripsEveryLength() throws {
        for length in 0...70 {
            let bytes = randomBytes(length)
            let text = StrictBase64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString(), "length \(length)")
            if length > 0 { #expect(StrictBase64.decode(Substring(text)) == bytes, "length \(length)") }
        }
    }
}

// MARK: - Helpers

/// Writes `text` to a temporary file, runs `body` with its path, and removes it.
func withKeyFile<T>(_ text: String, _ body: (String) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vault-keys-\(UUID().uuidString)")
    try Data(text.utf8).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

func dumped(_ value: some Any) -> String {
    var text = ""
    dump(value, to: &text)
    return text
}

/// Neither description of `error` holds `keyText` or any 8-character piece of it.
func expectNoKeyText(of keyText: String, in error: VaultError, sourceLocation: SourceLocation = #_sourceLocation) {
    let key = Array(keyText)
    for text in [String(describing: error), String(reflecting: error)] {
        guard key.count >= 8 else { continue }
        for start in 0...(key.count - 8) {
            let piece = String(key[start..<start + 8])
            #expect(!text.contains(piece), "error text holds key text", sourceLocation: sourceLocation)
        }
    }
}
