import CLibArchive

/// The rules every entry must pass, at every nesting level, before any of its bytes are read.
enum ArchiveEntryPolicy {
    // libarchive's AE_IF* macros carry a cast, so Swift does not import them.
    static let regularFile: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000

    /// Returns the entry's checked name and whether it has contents to read (regular files do, folders do not).
    static func check(_ entry: OpaquePointer) throws -> (name: String, isRegularFile: Bool) {
        guard let raw = archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry) else {
            throw ArchiveRejection.entryName
        }
        let name = String(cString: raw)
        guard isAllowed(name: name) else { throw ArchiveRejection.entryName }
        if archive_entry_symlink(entry) != nil || archive_entry_hardlink(entry) != nil {
            throw ArchiveRejection.link
        }
        if archive_entry_is_encrypted(entry) != 0 { throw ArchiveRejection.encrypted }
        switch UInt32(archive_entry_filetype(entry)) {
        case regularFile: return (name, true)
        case directory: return (name, false)
        case 0o120000: throw ArchiveRejection.link
        default: throw ArchiveRejection.entryType
        }
    }

    /// A relative path of forward-slash components, none of them `..`, with no backslash, NUL, control character or
    /// drive letter: what every unzip tool on every OS writes inside the folder it was given.
    static func isAllowed(name: String) -> Bool {
        isAllowed(rawName: Array(name.utf8))
    }

    /// ``isAllowed(name:)`` on the bytes as stored (ZIP names need not be UTF-8; NUL counts as a control byte).
    static func isAllowed(rawName bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.first != UInt8(ascii: "/") else { return false }
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) else { return false }
        if bytes.count >= 2, bytes[1] == UInt8(ascii: ":") { return false }
        return !bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).contains([0x2E, 0x2E])
    }
}
