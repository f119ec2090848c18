import CSQLite
import Foundation
import NIOConcurrencyHelpers
public import NIOPosix

/// The old controller's SQLite file, opened read-only and immutable, read in keyset pages by `rowid`.
///
/// `immutable=1` makes SQLite take no lock and create no `-journal`/`-shm` file beside the database: the import
/// leaves the old folder byte-for-byte as it found it. The price is that changes still in a `-wal` file would be
/// invisible, so ``open(path:threadPool:)`` refuses such a file (``LegacyImportError/Code/uncheckpointedWAL``).
///
/// Every SQLite call is blocking and runs on the thread pool, one at a time under a lock.
public final class LegacyDatabase: @unchecked Sendable {
    // @unchecked: the connection handle is only used while `lock` is held, and SQLite itself is built
    // thread-safe (serialized), so no two threads ever use it at once.
    private let handle: OpaquePointer
    private let lock = NIOLock()
    private let threadPool: NIOThreadPool
    /// What the file holds: the variant.
    public let schema: LegacySchema

    private init(handle: OpaquePointer, threadPool: NIOThreadPool) throws {
        self.handle = handle
        self.threadPool = threadPool
        self.schema = try LegacySchema.read(from: handle)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Opens `path` read-only; throws when it is not the old controller's database.
    public static func open(path: String, threadPool: NIOThreadPool = .singleton) async throws -> LegacyDatabase {
        try await threadPool.runIfActive {
            try checkNoPendingWAL(path)
            var handle: OpaquePointer?
            let uri = "file:" + percentEncoded(path) + "?mode=ro&immutable=1"
            let status = sqlite3_open_v2(uri, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX, nil)
            guard status == SQLITE_OK, let handle else {
                let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
                if let handle { sqlite3_close_v2(handle) }
                throw LegacyImportError(.cannotOpenDatabase, message)
            }
            do {
                let database = try LegacyDatabase(handle: handle, threadPool: threadPool)
                guard !database.schema.tables.isEmpty else {
                    throw LegacyImportError(.notALegacyDatabase, "none of workers, builds, build_logs was found")
                }
                return database
            } catch let error as LegacyImportError {
                throw error
            } catch {
                throw LegacyImportError(.cannotOpenDatabase, "\(error)")
            }
        }
    }

    /// Up to `limit` rows of `table` with `rowid > after`, in `rowid` order, as (rowid, values in
    /// ``LegacyTable/columns`` order). Empty when the table does not exist.
    public func rows(_ table: LegacyTable, after: Int64, limit: Int) async throws -> [(rowid: Int64, values: [SQLiteValue])] {
        guard let sql = schema.selectSQL(table) else { return [] }
        return try await threadPool.runIfActive {
            try self.lock.withLock {
                try Statement(self.handle, sql).run(binding: [after, Int64(limit)]) { statement, width in
                    (sqlite3_column_int64(statement, 0), (1..<width).map { Self.value(statement, Int32($0)) })
                }
            }
        }
    }

    /// The number of rows of `table` with `rowid > after` (0 when the table does not exist).
    public func count(_ table: LegacyTable, after: Int64 = 0) async throws -> Int64 {
        guard schema.tables.contains(table) else { return 0 }
        return try await threadPool.runIfActive {
            try self.lock.withLock {
                try Statement(self.handle, "SELECT count(*) FROM \(table.rawValue) WHERE rowid > ?1").run(binding: [after]) {
                    statement, _ in sqlite3_column_int64(statement, 0)
                }.first ?? 0
            }
        }
    }

    /// A stable name for this database: its first build's id and submission time (or first worker's id), which
    /// an old controller that kept running would not change. Guards against resuming with another file.
    public func fingerprint() async throws -> String {
        var parts: [String] = []
        for table in [LegacyTable.builds, .workers] {
            guard let first = try await rows(table, after: Int64.min, limit: 1).first else { continue }
            let cells = table == .builds ? [first.values[0], first.values[7]] : [first.values[0]]
            parts.append(table.rawValue + ":" + cells.map(Self.fingerprintText).joined(separator: ":"))
        }
        return parts.isEmpty ? "empty" : parts.joined(separator: "|")
    }

    private static func fingerprintText(_ value: SQLiteValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let integer): String(integer)
        case .real(let real): String(real)
        case .text(let text): text
        case .blob(let bytes): bytes.map { String($0, radix: 16) }.joined()
        }
    }

    private static func value(_ statement: OpaquePointer, _ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let bytes = sqlite3_column_text(statement, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let bytes = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    /// A file in WAL format whose `-wal` file is not empty holds rows `immutable` would not see.
    private static func checkNoPendingWAL(_ path: String) throws {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw LegacyImportError(.cannotOpenDatabase, "the file cannot be read")
        }
        defer { try? file.close() }
        let header = (try? file.read(upToCount: 20)) ?? Data()
        guard header.count == 20, header.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw LegacyImportError(.cannotOpenDatabase, "not an SQLite 3 database")
        }
        let walFormat = header[header.startIndex + 18] == 2 || header[header.startIndex + 19] == 2
        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        if walFormat, walSize > 0 { throw LegacyImportError(.uncheckpointedWAL, "\(walSize) bytes") }
    }

    /// RFC 3986 percent-encoding of a path for a `file:` URI (`?`, `#`, `%` and spaces would change its meaning).
    static func percentEncoded(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}

/// A prepared statement, finalized when the value goes away. Used only under the database's lock.
struct Statement {
    private let statement: OpaquePointer
    private let handle: OpaquePointer
    private let owner: Finalizer

    init(_ handle: OpaquePointer, _ sql: String) throws {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw LegacyImportError(.queryFailed, String(cString: sqlite3_errmsg(handle)))
        }
        self.statement = statement
        self.handle = handle
        self.owner = Finalizer(statement)
    }

    /// Binds `parameters` (?1, ?2, …), steps through every row and maps each with `row`.
    func run<Row>(binding parameters: [Int64], _ row: (OpaquePointer, Int) throws -> Row) throws -> [Row] {
        for (index, value) in parameters.enumerated() { sqlite3_bind_int64(statement, Int32(index + 1), value) }
        let width = Int(sqlite3_column_count(statement))
        var rows: [Row] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return rows }
            guard status == SQLITE_ROW else { throw LegacyImportError(.queryFailed, String(cString: sqlite3_errmsg(handle))) }
            rows.append(try row(statement, width))
        }
    }

    private final class Finalizer {
        let statement: OpaquePointer
        init(_ statement: OpaquePointer) { self.statement = statement }
        deinit { sqlite3_finalize(statement) }
    }
}
