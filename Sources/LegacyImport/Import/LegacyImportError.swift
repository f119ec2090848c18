/// Why an import stops. Row-level problems are never errors (they are reported and skipped); these are the
/// conditions in which going on would import the wrong thing or nothing.
public struct LegacyImportError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The SQLite file cannot be opened or read.
        case cannotOpenDatabase
        /// The file is SQLite but has none of the old controller's tables.
        case notALegacyDatabase
        /// The database is in WAL mode and its `-wal` file still holds changes that a read-only reader would
        /// have to recover by writing: the old controller must be stopped and the file checkpointed first.
        case uncheckpointedWAL
        /// A query of the old database failed half-way.
        case queryFailed
        /// The storage folder is not a readable folder.
        case storageFolderUnreadable
        /// This controller already holds an import of a different old database.
        case otherLegacyDatabase
    }

    public var code: Code
    /// A detail for the operator (a SQLite message, a table name); never a secret.
    public var detail: String
    public var file: String
    public var line: Int

    public init(_ code: Code, _ detail: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.detail = detail
        self.file = file
        self.line = line
    }

    public var description: String {
        switch code {
        case .cannotOpenDatabase: "cannot open the old database: \(detail)"
        case .notALegacyDatabase: "not a database of the old controller: \(detail)"
        case .uncheckpointedWAL:
            "the old database has un-checkpointed changes in its -wal file (\(detail)); stop the old controller, "
                + "then run `sqlite3 <db> 'PRAGMA wal_checkpoint(TRUNCATE)'` on a copy or the original, and retry"
        case .queryFailed: "reading the old database failed: \(detail)"
        case .storageFolderUnreadable: "the old storage folder cannot be read: \(detail)"
        case .otherLegacyDatabase:
            "this controller already holds an import of another old database (\(detail)); merging two is not supported"
        }
    }
}
