/// Why an archive failed inspection. `reason` is short, human and client-safe: it never holds a name from the
/// archive or a path. Policy rejections are final; a damaged *nested* archive is tolerated (see ``ArchiveInspector``).
struct ArchiveRejection: Error, CustomStringConvertible {
    enum Kind {
        /// The archive breaks a rule: names, links, limits, nesting.
        case policy
        /// The bytes are not a readable archive.
        case malformed
    }

    let kind: Kind
    let reason: String
    /// For logs: libarchive's own message, which may quote an entry name, so it stays out of `reason`.
    var detail: String?

    var description: String { detail.map { "\(reason) (\($0))" } ?? reason }

    static let notAZip = ArchiveRejection(kind: .malformed, reason: "File is not a valid ZIP archive")
    static let damaged = ArchiveRejection(kind: .malformed, reason: "Archive is damaged or truncated")
    static let encrypted = ArchiveRejection(kind: .policy, reason: "Archive entries must not be encrypted")
    static let expandsTooMuch = ArchiveRejection(kind: .policy, reason: "Archive expands too much")
    static let tooManyEntries = ArchiveRejection(kind: .policy, reason: "Archive has too many entries")
    static let entryName = ArchiveRejection(kind: .policy, reason: "Archive entry name is not allowed")
    static let link = ArchiveRejection(kind: .policy, reason: "Archive must not contain links")
    static let entryType = ArchiveRejection(kind: .policy, reason: "Archive entry type is not allowed")
    static let nestedTooDeep = ArchiveRejection(kind: .policy, reason: "Archive is nested too deeply")

    func with(detail: String?) -> ArchiveRejection {
        var copy = self
        copy.detail = detail
        return copy
    }
}
