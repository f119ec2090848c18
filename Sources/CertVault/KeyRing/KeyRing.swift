/// The master keys (key-encryption keys) that wrap each build's data key, by version.
///
/// The highest version is current: every new wrap uses it, and older versions stay only to open data keys
/// wrapped before a rotation (see ``CertVault/rewrap(_:for:)``).
///
/// Sources, in the executable's environment:
/// - `VAULT_MASTER_KEY`: the base64 of 32 bytes (version 1), or a comma-separated list `1:<b64>,2:<b64>`.
/// - `VAULT_MASTER_KEY_FILE`: a file of lines `<version>:<base64>`; a bare base64 line is version 1; empty
///   lines and lines starting with `#` are ignored. ``rotatedKeyFile(from:)`` writes this format.
///
/// Each key is held in a buffer that Swift never copies and that is overwritten when the last copy of the
/// ring goes away. The key *text* (environment value, file contents) passes through `String`s that cannot be
/// wiped; see ``VaultMemory``.
public struct KeyRing: Sendable {
    /// The environment variable holding the key (or list of keys) directly.
    public static let environmentVariable = "VAULT_MASTER_KEY"
    /// The environment variable naming a key file.
    public static let fileVariable = "VAULT_MASTER_KEY_FILE"
    /// The length of every master key: 256 bits.
    public static let keyByteCount = 32
    /// The largest version number accepted; versions are bound into the wrap as 32-bit integers.
    public static let maxVersion = Int(UInt32.max)

    private let keys: [Int: SecretKeyBytes]

    /// The version that wraps new data keys: the highest one in the ring.
    public let currentVersion: Int

    /// Every version in the ring, ascending.
    public var versions: [Int] { keys.keys.sorted() }

    /// A ring from raw keys, for tests and tools. `keys` is wiped (its values' buffers are overwritten).
    ///
    /// - Throws: ``VaultError/Code/missingMasterKey`` for an empty dictionary; ``VaultError/Code/malformedMasterKey``
    ///   for a version outside `1...maxVersion`, a key that is not 32 bytes, all zero, or repeated under two versions.
    public init(keys: inout [Int: [UInt8]]) throws {
        var entries: [KeyEntry] = []
        // Moved out of the dictionary rather than copied, so that the entry holds the only reference to each
        // buffer and the wipe in `init(entries:)` overwrites the buffer itself, not a private copy of it.
        for version in keys.keys.sorted() {
            entries.append(KeyEntry(version: version, bytes: keys.removeValue(forKey: version)!, origin: "key version \(version)"))
        }
        try self.init(entries: &entries, sourceName: "the key ring")
    }

    /// Validates `entries` (wiping their bytes) and builds the ring.
    init(entries: inout [KeyEntry], sourceName: String) throws {
        defer {
            for index in entries.indices { entries[index].bytes.wipe() }
        }
        guard !entries.isEmpty else {
            throw VaultError.malformedMasterKey("\(sourceName) holds no key")
        }
        var boxes: [Int: SecretKeyBytes] = [:]
        for index in entries.indices {
            // Fields are read through the subscript, never by copying the entry: a copy would share the key's
            // buffer, and the wipe below would then overwrite a fresh private copy instead of the buffer itself.
            let version = entries[index].version
            let origin = entries[index].origin
            let byteCount = entries[index].bytes.count
            guard (1...Self.maxVersion).contains(version) else {
                throw VaultError.malformedMasterKey("\(origin): version must be between 1 and \(Self.maxVersion)")
            }
            guard byteCount == Self.keyByteCount else {
                throw VaultError.malformedMasterKey(
                    "\(origin): key decodes to \(byteCount) bytes, expected \(Self.keyByteCount)"
                )
            }
            // A run of zeroes is what a placeholder (`head -c 32 /dev/zero | base64`) produces, never a real key.
            guard entries[index].bytes.contains(where: { $0 != 0 }) else {
                throw VaultError.malformedMasterKey("\(origin): key is all zero bytes")
            }
            guard boxes[version] == nil else {
                throw VaultError.malformedMasterKey("\(origin): version \(version) appears more than once")
            }
            let box = SecretKeyBytes(consuming: &entries[index].bytes)
            // A rotation that re-used an old key would look done while changing nothing.
            if let twin = boxes.first(where: { $0.value.hasSameBytes(as: box) }) {
                throw VaultError.malformedMasterKey(
                    "\(origin): same key as version \(twin.key); each version needs its own key"
                )
            }
            boxes[version] = box
        }
        self.keys = boxes
        self.currentVersion = boxes.keys.max()!
    }

    /// Loads the ring from the values of `VAULT_MASTER_KEY` and `VAULT_MASTER_KEY_FILE` (pass `nil` for an
    /// unset variable; an empty value counts as unset).
    ///
    /// - Throws: ``VaultError/Code/missingMasterKey`` when neither is set or the file cannot be read;
    ///   ``VaultError/Code/malformedMasterKey`` when both are set or the keys do not parse. The message names
    ///   the variable, the entry or line, and what is wrong; never the key.
    public static func load(environmentValue: String?, filePath: String?) throws -> KeyRing {
        let value = environmentValue.flatMap { $0.isEmpty ? nil : $0 }
        let path = filePath.flatMap { $0.isEmpty ? nil : $0 }
        switch (value, path) {
        case (nil, nil):
            throw VaultError.missingMasterKey(
                "set \(environmentVariable) (base64 of \(keyByteCount) random bytes) or \(fileVariable)"
            )
        case (.some, .some):
            // Two sources could disagree after a rotation (the file gains version 2, the variable does not):
            // refusing is safer than picking one silently.
            throw VaultError.malformedMasterKey("both \(environmentVariable) and \(fileVariable) are set; set only one")
        case (let value?, nil):
            return try KeyRing(environmentValue: value)
        case (nil, let path?):
            var bytes = try KeyFile.contents(atPath: path)
            defer { bytes.wipe() }
            return try KeyRing(fileText: String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Loads the ring from an environment dictionary (`ProcessInfo.processInfo.environment`), reading
    /// `VAULT_MASTER_KEY` and `VAULT_MASTER_KEY_FILE`; see ``load(environmentValue:filePath:)``.
    public static func load(environment: [String: String]) throws -> KeyRing {
        try load(environmentValue: environment[environmentVariable], filePath: environment[fileVariable])
    }

    /// Parses the value of `VAULT_MASTER_KEY`: one bare base64 key (version 1) or `v:b64` entries joined by commas.
    init(environmentValue: String) throws {
        let name = Self.environmentVariable
        let pieces = environmentValue.split(separator: ",", omittingEmptySubsequences: false)
        var entries: [KeyEntry] = []
        for (index, piece) in pieces.enumerated() {
            let origin = pieces.count == 1 ? name : "\(name) entry \(index + 1)"
            let trimmed = piece.trimmingWhitespace()
            guard !trimmed.isEmpty else { throw VaultError.malformedMasterKey("\(origin) is empty") }
            if !trimmed.contains(":"), pieces.count > 1 {
                throw VaultError.malformedMasterKey("\(origin) has no version; write <version>:<base64>")
            }
            entries.append(try KeyEntry.parse(trimmed, origin: origin))
        }
        try self.init(entries: &entries, sourceName: name)
    }

    /// Parses the text of a key file (see the type's notes for the format).
    init(fileText: String) throws {
        var entries: [KeyEntry] = []
        // Split on any newline: Swift treats "\r\n" as one Character, so splitting on "\n" alone would not
        // split a file written with CRLF line ends at all.
        let lines = fileText.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            entries.append(try KeyEntry.parse(trimmed, origin: "\(Self.fileVariable) line \(index + 1)"))
        }
        try self.init(entries: &entries, sourceName: Self.fileVariable)
    }

    /// The key of `version`, if the ring holds it.
    func key(version: Int) -> SecretKeyBytes? { keys[version] }
}

extension KeyRing: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Names the versions only; the keys never reach a string.
    public var description: String { "KeyRing(versions: \(versions), current: \(currentVersion))" }
    public var debugDescription: String { description }
    /// Keeps `dump(ring)` and debuggers' mirrors away from the key buffers.
    public var customMirror: Mirror {
        Mirror(self, children: ["versions": versions, "currentVersion": currentVersion], displayStyle: .struct)
    }
}

/// One `version:key` entry on its way into a ``KeyRing``.
struct KeyEntry {
    var version: Int
    var bytes: [UInt8]
    /// Where it came from, for messages: "VAULT_MASTER_KEY_FILE line 3".
    var origin: String

    /// Parses `<version>:<base64>` or a bare `<base64>` (version 1).
    static func parse(_ text: Substring, origin: String) throws -> KeyEntry {
        var version = 1
        var keyText = text
        if let colon = text.firstIndex(of: ":") {
            let versionText = text[..<colon].trimmingWhitespace()
            guard !versionText.isEmpty, versionText.utf8.count <= 10,
                versionText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                let parsed = Int(versionText)
            else {
                throw VaultError.malformedMasterKey("\(origin): version is not a positive integer")
            }
            version = parsed
            keyText = text[text.index(after: colon)...].trimmingWhitespace()
        }
        guard !keyText.isEmpty else { throw VaultError.malformedMasterKey("\(origin): key is empty") }
        guard let bytes = StrictBase64.decode(keyText) else {
            throw VaultError.malformedMasterKey("\(origin): key is not valid standard base64")
        }
        return KeyEntry(version: version, bytes: bytes, origin: origin)
    }
}

extension Substring {
    /// Drops spaces, tabs and line ends at both ends: an environment file or secret mount often leaves a trailing
    /// newline on the value, and a key file written on Windows ends its lines in CRLF.
    func trimmingWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
