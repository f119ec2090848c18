import Foundation
import Identifiers
import Orchestrator

/// The pure mapping of legacy rows: cell values in, a typed record or a typed rejection out.
///
/// No I/O and no clock, so it is tested and fuzzed on its own. Values come in the order of
/// ``LegacyTable/columns``; a missing trailing value counts as NULL. Whatever the cells hold, the result is a
/// record whose ids and token pass `BuildID` / `WorkerID` / `SecretToken` validation and whose texts can be
/// stored by PostgreSQL, or a ``LegacyRowRejection``; nothing here traps.
public enum LegacyRowMapper {
    /// The error message the old controller stored for a cancelled build.
    public static let cancelledMessage = "Build cancelled by user"
    /// The earliest and latest plausible times in ms (1970 to 2200): beyond, a value is garbage, and inside,
    /// the conversion to `timestamptz` is exact.
    public static let plausibleTimes: ClosedRange<Int64> = 0...7_258_118_400_000
    /// How deep a capabilities or checks document may nest.
    static let maxJSONDepth = 32

    public static func worker(_ values: [SQLiteValue]) -> Result<LegacyWorker, LegacyRowRejection> {
        catching(.workers) {
            let row = Row(values: values, table: .workers)
            let id = try row.workerID(0)
            let name = try row.text(1)
            let status = try row.optionalText(2)
            return LegacyWorker(
                id: id, name: name, offline: status == "offline",
                capabilitiesJSON: try row.json(3, object: true),
                registeredAtMs: try row.time(4), lastSeenAtMs: try row.time(5),
                buildsCompleted: try row.counter(6), buildsFailed: try row.counter(7))
        }
    }

    public static func build(_ values: [SQLiteValue]) -> Result<LegacyBuild, LegacyRowRejection> {
        catching(.builds) {
            let row = Row(values: values, table: .builds)
            let id = try row.buildID(0)
            let legacyStatus = try row.text(1)
            let platform = try row.text(2)
            guard platform == "ios" || platform == "android" else { throw row.reject(.unknownValue(column: "platform")) }
            var notes: [LegacyNote] = []
            var worker: WorkerID?
            if let text = try row.optionalText(6) {
                worker = WorkerID(text)
                let workerExists = try row.flag(12)
                if worker == nil || !workerExists {
                    worker = nil
                    notes.append(.danglingWorker)
                }
            }
            let submitted = try row.time(7)
            var started = try row.optionalTime(8)
            var completed = try row.optionalTime(9)
            var error = try row.optionalText(10)
            var status: BuildStatus
            switch legacyStatus {
            case "pending":
                status = .pending
                (started, completed, worker) = (nil, nil, nil)
            case "assigned", "building":
                // The old worker will never report to this controller: the build goes back to the queue, as
                // the controller's own lease sweeper does with a lapsed lease.
                status = .pending
                (started, completed, worker) = (nil, nil, nil)
                notes.append(.inFlightRequeued)
            case "completed":
                status = .completed
            case "failed":
                status = error == cancelledMessage ? .cancelled : .failed
                if status == .cancelled { notes.append(.cancelledStoredAsFailed) }
            default:
                throw row.reject(.unknownValue(column: "status"))
            }
            if status.isFinished, completed == nil {
                completed = started ?? submitted
                notes.append(.missingCompletionTime)
            }
            if status == .pending { error = nil }
            var token: SecretToken?
            switch row[11] {
            case .null:
                notes.append(.tokenMissing)
            case .text(let text):
                token = SecretToken(presented: text)
                if token == nil { notes.append(.tokenUnusable) }
            default:
                notes.append(.tokenUnusable)
            }
            return LegacyBuild(
                id: id, legacyStatus: legacyStatus, status: status, platform: platform,
                sourcePath: try row.path(3), certsPath: try row.path(4), resultPath: try row.path(5), workerID: worker,
                submittedAtMs: submitted, startedAtMs: started, completedAtMs: completed, errorMessage: error,
                token: token, notes: notes)
        }
    }

    public static func logLine(_ values: [SQLiteValue]) -> Result<LegacyLogLine, LegacyRowRejection> {
        catching(.buildLogs) {
            let row = Row(values: values, table: .buildLogs)
            let build = try row.buildID(0)
            guard try row.flag(4) else { throw row.reject(.orphan(parent: "build")) }
            let level: LogLevel
            switch try row.text(2).lowercased() {
            case "debug", "trace", "verbose": level = .debug
            case "info", "log", "notice": level = .info
            case "warn", "warning": level = .warn
            case "error", "fatal", "critical": level = .error
            default: throw row.reject(.unknownValue(column: "level"))
            }
            return LegacyLogLine(buildID: build, timestampMs: try row.time(1), level: level, message: try row.text(3))
        }
    }

    public static func cpuSnapshot(_ values: [SQLiteValue]) -> Result<LegacyCPUSnapshot, LegacyRowRejection> {
        catching(.cpuSnapshots) {
            let row = Row(values: values, table: .cpuSnapshots)
            let build = try row.buildID(0)
            guard try row.flag(4) else { throw row.reject(.orphan(parent: "build")) }
            // The ranges of the new schema's CHECKs.
            return LegacyCPUSnapshot(
                buildID: build, timestampMs: try row.time(1), cpuPercent: try row.number(2, in: 0...1000),
                memoryMB: try row.number(3, in: 0...1_000_000))
        }
    }

    public static func diagnostic(_ values: [SQLiteValue]) -> Result<LegacyDiagnostic, LegacyRowRejection> {
        catching(.diagnostics) {
            let row = Row(values: values, table: .diagnostics)
            let id = try row.text(0)
            // Diagnostics ids are UUIDs; anything URL-safe of id length is kept as it is.
            guard EntityID<WorkerKind>(id) != nil else { throw row.reject(.invalidID(column: "id")) }
            let worker = try row.workerID(1)
            guard try row.flag(7) else { throw row.reject(.orphan(parent: "worker")) }
            let status = try row.text(2)
            guard ["healthy", "warning", "critical"].contains(status) else { throw row.reject(.unknownValue(column: "status")) }
            let duration = try row.integer(4)
            guard duration >= 0 else { throw row.reject(.unknownValue(column: "duration_ms")) }
            let autoFixed = try row.optionalInteger(5) ?? 0
            return LegacyDiagnostic(
                id: id, workerID: worker, status: status, runAtMs: try row.time(3), durationMs: duration,
                autoFixed: autoFixed != 0, checksJSON: try row.json(6, object: false))
        }
    }

    private static func catching<Record>(
        _ table: LegacyTable, _ body: () throws -> Record
    ) -> Result<Record, LegacyRowRejection> {
        do {
            return .success(try body())
        } catch let rejection as LegacyRowRejection {
            return .failure(rejection)
        } catch {
            return .failure(LegacyRowRejection(table, .wrongType(column: "?")))
        }
    }
}

/// Typed access to one row's cells, each failure a rejection naming the column.
private struct Row {
    let values: [SQLiteValue]
    let table: LegacyTable

    subscript(_ index: Int) -> SQLiteValue { index < values.count ? values[index] : .null }

    func name(_ index: Int) -> String { table.columns[index] }

    func reject(_ reason: LegacyRowRejection.Reason) -> LegacyRowRejection { LegacyRowRejection(table, reason) }

    func optionalText(_ index: Int) throws -> String? {
        switch self[index] {
        case .null: return nil
        case .text(let text):
            guard !text.utf8.contains(0) else { throw reject(.nulCharacter(column: name(index))) }
            return text
        default: throw reject(.wrongType(column: name(index)))
        }
    }

    func text(_ index: Int) throws -> String {
        guard let text = try optionalText(index) else { throw reject(.missing(column: name(index))) }
        return text
    }

    /// A file path: absent or empty is "no file".
    func path(_ index: Int) throws -> String? {
        guard let text = try optionalText(index), !text.isEmpty else { return nil }
        return text
    }

    func buildID(_ index: Int) throws -> BuildID {
        guard let id = BuildID(try text(index)) else { throw reject(.invalidID(column: name(index))) }
        return id
    }

    func workerID(_ index: Int) throws -> WorkerID {
        guard let id = WorkerID(try text(index)) else { throw reject(.invalidID(column: name(index))) }
        return id
    }

    func optionalInteger(_ index: Int) throws -> Int64? {
        switch self[index] {
        case .null: return nil
        case .integer(let value): return value
        case .real(let value):
            // SQLite hands back an integer stored through a REAL affinity as a real; keep whole numbers only.
            guard value.isFinite, value.rounded() == value, let exact = Int64(exactly: value) else {
                throw reject(.wrongType(column: name(index)))
            }
            return exact
        default: throw reject(.wrongType(column: name(index)))
        }
    }

    func integer(_ index: Int) throws -> Int64 {
        guard let value = try optionalInteger(index) else { throw reject(.missing(column: name(index))) }
        return value
    }

    /// The parent-exists flag of the `LEFT JOIN`.
    func flag(_ index: Int) throws -> Bool { (try optionalInteger(index) ?? 0) != 0 }

    func optionalTime(_ index: Int) throws -> Int64? {
        guard let value = try optionalInteger(index) else { return nil }
        guard LegacyRowMapper.plausibleTimes.contains(value) else { throw reject(.timestampOutOfRange(column: name(index))) }
        return value
    }

    func time(_ index: Int) throws -> Int64 {
        guard let value = try optionalTime(index) else { throw reject(.missing(column: name(index))) }
        return value
    }

    /// A counter that defaults to 0 and fits the new schema's `integer`.
    func counter(_ index: Int) throws -> Int32 {
        let value = try optionalInteger(index) ?? 0
        guard value >= 0, let counter = Int32(exactly: value) else { throw reject(.unknownValue(column: name(index))) }
        return counter
    }

    func number(_ index: Int, in range: ClosedRange<Double>) throws -> Double {
        let value: Double
        switch self[index] {
        case .integer(let integer): value = Double(integer)
        case .real(let real): value = real
        case .null: throw reject(.missing(column: name(index)))
        default: throw reject(.wrongType(column: name(index)))
        }
        guard value.isFinite, range.contains(value) else { throw reject(.unknownValue(column: name(index))) }
        return value
    }

    /// JSON text of the expected shape, re-serialised so that PostgreSQL's `jsonb` accepts it (no `\u0000`,
    /// no lone surrogate escapes, no number it cannot hold).
    func json(_ index: Int, object: Bool) throws -> String {
        let text = try text(index)
        let invalid = reject(.invalidJSON(column: name(index)))
        guard JSONNesting.isBounded(text.utf8, maxDepth: LegacyRowMapper.maxJSONDepth),
            let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
            object ? parsed is [String: Any] : parsed is [Any],
            JSONSerialization.isValidJSONObject(parsed),
            let data = try? JSONSerialization.data(withJSONObject: parsed, options: [.sortedKeys])
        else { throw invalid }
        let canonical = String(decoding: data, as: UTF8.self)
        guard !canonical.contains("\\u0000") else { throw invalid }
        return canonical
    }
}
