// LegacyRowMapper: the rows of the old controller's SQLite database, whatever their cells hold.
//
// Input: byte 0 picks the table; then one cell per column, each a tag byte (0 null, 1 integer, 2 real, 3 text,
// 4 blob, 5 small integer, 6 a plausible time) and its payload (8 bytes for numbers, a length byte then bytes
// for text and blobs). Short input leaves the remaining columns NULL, as an absent column reads.
@testable import Identifiers
@testable import LegacyImport
import Foundation
import Orchestrator

struct Cells {
    var bytes: ArraySlice<UInt8>

    mutating func byte() -> UInt8? { bytes.popFirst() }

    mutating func word() -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte() ?? 0) }
        return value
    }

    mutating func cell() -> SQLiteValue? {
        guard let tag = byte() else { return nil }
        switch tag % 7 {
        case 0: return .null
        case 1: return .integer(Int64(bitPattern: word()))
        case 2: return .real(Double(bitPattern: word()))
        case 3:
            let count = Int(byte() ?? 0)
            let text = bytes.prefix(count)
            bytes = bytes.dropFirst(count)
            return .text(String(decoding: text, as: UTF8.self))
        case 4:
            let count = Int(byte() ?? 0)
            let blob = Array(bytes.prefix(count))
            bytes = bytes.dropFirst(count)
            return .blob(blob)
        case 5: return .integer(Int64(byte() ?? 0))
        default: return .integer(1_767_225_600_000 + Int64(byte() ?? 0) * 1000)
        }
    }
}

func checkText(_ text: String, _ what: String) {
    check(!text.utf8.contains(0), "\(what) holds a NUL")
}

func checkTime(_ ms: Int64?, _ what: String) {
    guard let ms else { return }
    check(LegacyRowMapper.plausibleTimes.contains(ms), "\(what) \(ms) out of range")
}

func checkJSON(_ text: String, object: Bool) {
    checkText(text, "json")
    check(!text.contains("\\u0000"), "json holds an escaped NUL")
    let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8))
    check(object ? parsed is [String: Any] : parsed is [Any], "json of the wrong shape: \(text)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard let selector = bytes.first else { return 0 }
    let table = LegacyTable.allCases[Int(selector) % LegacyTable.allCases.count]
    var cells = Cells(bytes: bytes.dropFirst())
    var values: [SQLiteValue] = []
    while values.count < table.columns.count, let cell = cells.cell() { values.append(cell) }

    switch table {
    case .workers:
        let first = LegacyRowMapper.worker(values)
        check(first == LegacyRowMapper.worker(values), "worker mapping is not deterministic")
        if case .success(let worker) = first {
            check(WorkerID(worker.id.rawValue) == worker.id, "worker id fails validation")
            checkText(worker.name, "name")
            checkJSON(worker.capabilitiesJSON, object: true)
            checkTime(worker.registeredAtMs, "registered_at")
            checkTime(worker.lastSeenAtMs, "last_seen_at")
            check(worker.buildsCompleted >= 0 && worker.buildsFailed >= 0, "negative counter")
        }
    case .builds:
        guard case .success(let build) = LegacyRowMapper.build(values) else { return 0 }
        check(BuildID(build.id.rawValue) == build.id, "build id fails validation")
        if let token = build.token {
            check(SecretToken(presented: token.reveal) != nil, "token fails validation")
            check(!build.notes.contains(.tokenMissing) && !build.notes.contains(.tokenUnusable), "token and a note")
        } else {
            check(build.notes.contains(.tokenMissing) || build.notes.contains(.tokenUnusable), "no token, no note")
        }
        if let worker = build.workerID { check(WorkerID(worker.rawValue) == worker, "worker id fails validation") }
        check(build.platform == "ios" || build.platform == "android", "platform \(build.platform)")
        for text in [build.sourcePath, build.certsPath, build.resultPath, build.errorMessage].compactMap({ $0 }) {
            checkText(text, "build text")
            for candidate in LegacyFileLocator.candidates(for: text, kind: .source, storageRoot: "/root") {
                check(candidate == text || candidate.utf8.starts(with: "/root/".utf8), "candidate \(candidate) outside the root")
            }
        }
        checkTime(build.submittedAtMs, "submitted_at")
        checkTime(build.startedAtMs, "started_at")
        checkTime(build.completedAtMs, "completed_at")
        // The lifecycle facts the new schema's CHECKs enforce.
        check(!build.status.isActive, "an imported build is never held by a worker")
        if build.status == .pending {
            check(build.workerID == nil && build.startedAtMs == nil && build.completedAtMs == nil, "pending with history")
        }
        if build.status.isFinished { check(build.completedAtMs != nil, "finished without completed_at") }
        check((build.status == .cancelled) == build.notes.contains(.cancelledStoredAsFailed), "cancelled without note")
        if build.status == .cancelled { check(build.errorMessage == LegacyRowMapper.cancelledMessage, "cancelled message") }
        check(build.wasInFlight == (build.legacyStatus == "assigned" || build.legacyStatus == "building"), "in-flight")
    case .buildLogs:
        if case .success(let line) = LegacyRowMapper.logLine(values) {
            check(BuildID(line.buildID.rawValue) == line.buildID, "build id fails validation")
            checkText(line.message, "message")
            checkTime(line.timestampMs, "timestamp")
        }
    case .cpuSnapshots:
        if case .success(let sample) = LegacyRowMapper.cpuSnapshot(values) {
            check((0...1000).contains(sample.cpuPercent) && (0...1_000_000).contains(sample.memoryMB), "sample out of range")
            checkTime(sample.timestampMs, "timestamp")
        }
    case .diagnostics:
        if case .success(let report) = LegacyRowMapper.diagnostic(values) {
            check(WorkerID(report.workerID.rawValue) == report.workerID, "worker id fails validation")
            check(["healthy", "warning", "critical"].contains(report.status), "status")
            check(report.durationMs >= 0, "negative duration")
            checkJSON(report.checksJSON, object: false)
            checkTime(report.runAtMs, "run_at")
        }
    }
    return 0
}
