/// One cell of a legacy SQLite row, as SQLite stores it: SQLite is dynamically typed, so a column declared
/// `INTEGER` may still hold text, a real or a blob, and the mapping checks every cell's type.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    /// Text exactly as stored, NUL bytes included (read by length, not up to the first NUL).
    case text(String)
    case blob([UInt8])
}

/// The tables of the old controller that the import reads, in import order.
public enum LegacyTable: String, Sendable, CaseIterable, Codable {
    case workers
    case builds
    case buildLogs = "build_logs"
    case cpuSnapshots = "cpu_snapshots"
    case diagnostics

    /// The columns the mapping expects, in the order of the row values handed to it. The last one of builds,
    /// logs, CPU snapshots and diagnostics is not a column of the table: it is `1` when the row's parent (its
    /// worker or build) exists in the old database, computed by a `LEFT JOIN`.
    public var columns: [String] {
        switch self {
        case .workers:
            ["id", "name", "status", "capabilities", "registered_at", "last_seen_at", "builds_completed", "builds_failed"]
        case .builds:
            [
                "id", "status", "platform", "source_path", "certs_path", "result_path", "worker_id", "submitted_at",
                "started_at", "completed_at", "error_message", "access_token", Self.parentExistsColumn,
            ]
        case .buildLogs:
            ["build_id", "timestamp", "level", "message", Self.parentExistsColumn]
        case .cpuSnapshots:
            ["build_id", "timestamp", "cpu_percent", "memory_mb", Self.parentExistsColumn]
        case .diagnostics:
            ["id", "worker_id", "status", "run_at", "duration_ms", "auto_fixed", "checks", Self.parentExistsColumn]
        }
    }

    /// The pseudo-column that says whether the row's parent exists.
    public static let parentExistsColumn = "parent_exists"

    /// The parent a row refers to, and the column that names it: what the `LEFT JOIN` checks.
    public var parent: (table: LegacyTable, column: String)? {
        switch self {
        case .workers: nil
        case .builds: (.workers, "worker_id")
        case .buildLogs, .cpuSnapshots: (.builds, "build_id")
        case .diagnostics: (.workers, "worker_id")
        }
    }
}
