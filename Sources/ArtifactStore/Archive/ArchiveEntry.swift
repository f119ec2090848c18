/// One regular file read from a small in-memory archive by ``ArchiveReader``.
public struct ArchiveEntry: Sendable, Equatable {
    /// The entry's path inside the archive, already checked: relative, no `..`, no backslash.
    public let name: String
    /// The entry's bytes.
    public let contents: [UInt8]

    /// Describes an entry.
    public init(name: String, contents: [UInt8]) {
        self.name = name
        self.contents = contents
    }
}
