/// What an import did (or, for a dry run, would do): printed at the end and written as JSON by `--report`.
///
/// Its size is bounded whatever the database: groups of skipped rows and notes keep a count and at most
/// ``exampleLimit`` examples, missing files at most ``missingFileLimit`` entries. The exception is
/// ``issuedTokens``, one per build that had no token, which the operator must receive in full.
public struct ImportReport: Codable, Sendable {
    public static let exampleLimit = 20
    public static let missingFileLimit = 1000

    /// Rows per table.
    public struct TableFigures: Codable, Sendable, Equatable {
        /// Rows read by this run (after the resume cursor).
        public var read: Int64 = 0
        /// Rows written by this run (a dry run: rows that would be).
        public var imported: Int64 = 0
        /// Rows read and not imported; see ``ImportReport/skipped``.
        public var skipped: Int64 = 0
        /// Rows an earlier run already handled (before the resume cursor).
        public var alreadyHandled: Int64 = 0
    }

    /// Rows skipped for one reason.
    public struct SkippedGroup: Codable, Sendable {
        public var table: String
        public var reason: String
        public var count: Int64
        /// Row keys (`rowid N` and the id when it is a valid one).
        public var examples: [String]
    }

    /// Rows imported with a change, per kind of change.
    public struct NoteGroup: Codable, Sendable {
        public var note: String
        public var count: Int64
        public var examples: [String]
    }

    /// A file the old database names that is not in the storage folder (or cannot be read).
    public struct MissingFile: Codable, Sendable, Equatable {
        public var buildID: String
        public var kind: LegacyFileKind
        public var storedPath: String
        public var reason: String
    }

    /// A token issued for a build that had none, to hand to its submitter.
    public struct IssuedToken: Codable, Sendable, Equatable {
        public var buildID: String
        public var accessToken: String
        /// `true` when it replaces a token issued by an interrupted run that never printed it.
        public var reissued: Bool
    }

    public var dryRun: Bool
    public var variant: String = ""
    public var missingColumns: [String] = []
    public var tables: [String: TableFigures] = [:]
    public var skipped: [SkippedGroup] = []
    public var notes: [NoteGroup] = []
    public var missingFiles: [MissingFile] = []
    public var missingFileCount = 0
    public var filesCopied = 0
    public var bytesCopied: Int64 = 0
    /// Files whose SHA-256, computed while reading the old file, matched what the store computed while writing.
    public var checksumsVerified = 0
    public var certsSealed = 0
    /// Cert bundles of finished builds: tombstoned, their plaintext never read.
    public var certsDestroyed = 0
    public var tokensKept = 0
    /// Builds that had no usable token and got a new one (a dry run: would get); the tokens themselves are in
    /// ``issuedTokens`` (never in a dry run's report).
    public var tokensIssued = 0
    public var issuedTokens: [IssuedToken] = []
    /// Log lines appended to builds the import re-queued.
    public var requeueNotesAppended = 0
    public var durationSeconds: Double = 0

    public init(dryRun: Bool) { self.dryRun = dryRun }

    mutating func figures(_ table: LegacyTable, _ change: (inout TableFigures) -> Void) {
        change(&tables[table.rawValue, default: TableFigures()])
    }

    mutating func skip(_ table: LegacyTable, _ reason: String, key: String, count: Int64 = 1) {
        figures(table) { $0.skipped += count }
        if let index = skipped.firstIndex(where: { $0.table == table.rawValue && $0.reason == reason }) {
            skipped[index].count += count
            if skipped[index].examples.count < Self.exampleLimit, !key.isEmpty { skipped[index].examples.append(key) }
        } else {
            skipped.append(SkippedGroup(table: table.rawValue, reason: reason, count: count, examples: key.isEmpty ? [] : [key]))
        }
    }

    mutating func note(_ note: LegacyNote, build: String) {
        if let index = notes.firstIndex(where: { $0.note == note.rawValue }) {
            notes[index].count += 1
            if notes[index].examples.count < Self.exampleLimit { notes[index].examples.append(build) }
        } else {
            notes.append(NoteGroup(note: note.rawValue, count: 1, examples: [build]))
        }
    }

    mutating func missing(_ file: MissingFile) {
        missingFileCount += 1
        if missingFiles.count < Self.missingFileLimit { missingFiles.append(file) }
    }

    /// The count of a note kind (0 when none).
    public func count(of note: LegacyNote) -> Int64 { notes.first { $0.note == note.rawValue }?.count ?? 0 }

    /// The number of rows skipped in `table` for reasons containing `text`.
    public func skippedCount(_ table: LegacyTable, reasonContaining text: String) -> Int64 {
        skipped.filter { $0.table == table.rawValue && $0.reason.contains(text) }.reduce(0) { $0 + $1.count }
    }
}

extension ImportReport {
    /// The report for a terminal: one line per figure, the issued tokens last.
    public var text: String {
        var lines = ["\(dryRun ? "Dry run (nothing written)" : "Import") of a \(variant) database in \(Int(durationSeconds.rounded())) s"]
        if !missingColumns.isEmpty { lines.append("columns absent (read as NULL): \(missingColumns.joined(separator: ", "))") }
        for table in LegacyTable.allCases {
            guard let f = tables[table.rawValue] else { continue }
            lines.append(
                "  \(table.rawValue): read \(f.read), \(dryRun ? "would import" : "imported") \(f.imported), "
                    + "skipped \(f.skipped), handled by an earlier run \(f.alreadyHandled)")
        }
        for group in skipped {
            lines.append("  skipped \(group.count) \(group.table) row(s): \(group.reason) (e.g. \(group.examples.prefix(3).joined(separator: ", ")))")
        }
        for group in notes {
            lines.append("  \(group.count) build(s): \(group.note) (e.g. \(group.examples.prefix(3).joined(separator: ", ")))")
        }
        lines.append("  files \(dryRun ? "to copy" : "copied"): \(filesCopied), \(bytesCopied) bytes, checksums verified: \(checksumsVerified)")
        lines.append("  certs sealed: \(certsSealed), certs of finished builds destroyed (tombstone): \(certsDestroyed)")
        lines.append("  build tokens kept: \(tokensKept), issued: \(tokensIssued)")
        if requeueNotesAppended > 0 { lines.append("  in-flight builds re-queued with a log line: \(requeueNotesAppended)") }
        lines.append("  missing files: \(missingFileCount)")
        for file in missingFiles.prefix(50) {
            lines.append("    \(file.buildID) \(file.kind.rawValue): \(file.storedPath) (\(file.reason))")
        }
        if missingFileCount > 50 { lines.append("    … \(missingFileCount - 50) more (see --report)") }
        return lines.joined(separator: "\n")
    }
}
