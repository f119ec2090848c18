import CSQLite

/// Which of the old controller's tables and columns a database has: the variant.
///
/// The old controller created its tables with `CREATE TABLE IF NOT EXISTS` and never altered them, so early
/// databases lack `builds.access_token`, `cpu_snapshots` and `diagnostics`. A missing column reads as NULL; a
/// missing table as empty.
public struct LegacySchema: Sendable, Equatable {
    /// The tables present.
    public let tables: Set<LegacyTable>
    /// The columns present, per table present.
    public let columns: [LegacyTable: Set<String>]

    public init(tables: Set<LegacyTable>, columns: [LegacyTable: Set<String>]) {
        self.tables = tables
        self.columns = columns
    }

    /// `true` when builds carry their access tokens (the build-token release or later).
    public var hasBuildTokens: Bool { columns[.builds]?.contains("access_token") ?? false }

    /// A name for the report: `current`, `pre-tokens`, or either with the missing tables listed.
    public var variantName: String {
        var name = tables.contains(.builds) && !hasBuildTokens ? "pre-tokens" : "current"
        let missing = LegacyTable.allCases.filter { !tables.contains($0) }.map(\.rawValue)
        if !missing.isEmpty { name += " (no \(missing.joined(separator: ", ")))" }
        return name
    }

    /// Expected columns a present table lacks, as `table.column`.
    public var missingColumns: [String] {
        LegacyTable.allCases.filter(tables.contains).flatMap { table in
            table.columns.filter { $0 != LegacyTable.parentExistsColumn && !(columns[table]?.contains($0) ?? false) }
                .map { "\(table.rawValue).\($0)" }
        }
    }

    /// The keyset query of `table` (`?1` = the last rowid read, `?2` = the page size), or `nil` when the table is
    /// absent. Only names from ``LegacyTable`` constants reach the SQL text.
    func selectSQL(_ table: LegacyTable) -> String? {
        guard tables.contains(table), let present = columns[table] else { return nil }
        let cells = table.columns.map { column -> String in
            if column == LegacyTable.parentExistsColumn {
                guard let parent = table.parent, tables.contains(parent.table),
                    columns[parent.table]?.contains("id") ?? false, present.contains(parent.column)
                else { return "0" }
                return "EXISTS (SELECT 1 FROM \(parent.table.rawValue) p WHERE p.id = t.\(parent.column))"
            }
            return present.contains(column) ? "t.\(column)" : "NULL"
        }
        return """
            SELECT t.rowid, \(cells.joined(separator: ", ")) FROM \(table.rawValue) t
            WHERE t.rowid > ?1 ORDER BY t.rowid LIMIT ?2
            """
    }

    /// Reads the tables and their columns from the file's catalogue.
    static func read(from handle: OpaquePointer) throws -> LegacySchema {
        var tables = Set<LegacyTable>()
        var columns: [LegacyTable: Set<String>] = [:]
        let names = try Statement(handle, "SELECT name FROM sqlite_master WHERE type = 'table'").run(binding: []) {
            statement, _ in sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? ""
        }
        for table in LegacyTable.allCases where names.contains(table.rawValue) {
            tables.insert(table)
            let found = try Statement(handle, "SELECT name FROM pragma_table_info('\(table.rawValue)')").run(binding: []) {
                statement, _ in sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? ""
            }
            columns[table] = Set(found)
        }
        return LegacySchema(tables: tables, columns: columns)
    }
}
