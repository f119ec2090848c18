import Identifiers
import Orchestrator

/// Build logs and CPU snapshots: millions of rows, streamed in pages, each page one multi-row insert.
extension LegacyImporter {
    func importLogLines(_ database: LegacyDatabase, _ state: inout RunState, _ report: inout ImportReport) async throws {
        let unimported = state.unimportedBuilds
        try await forEachPage(
            database, .buildLogs, pageSize: configuration.rowPageSize, from: state.cursor(.buildLogs), &report
        ) { rows, report in
            var buildIDs: [String] = [], times: [Int64] = [], levels: [String] = [], messages: [String] = []
            buildIDs.reserveCapacity(rows.count)
            times.reserveCapacity(rows.count)
            levels.reserveCapacity(rows.count)
            messages.reserveCapacity(rows.count)
            for row in rows {
                switch LegacyRowMapper.logLine(row.values) {
                case .success(let line):
                    if configuration.dryRun, unimported.contains(line.buildID.rawValue) {
                        report.skip(.buildLogs, Self.buildNotImported, key: Self.key(row.rowid, row.values))
                        continue
                    }
                    buildIDs.append(line.buildID.rawValue)
                    times.append(line.timestampMs)
                    levels.append(line.level.rawValue)
                    messages.append(line.message)
                case .failure(let rejection):
                    report.skip(.buildLogs, rejection.summary, key: Self.key(row.rowid, row.values))
                }
            }
            var imported = buildIDs.count
            if !configuration.dryRun {
                imported = try await orchestrator.importLegacyLogLines(
                    buildIDs: buildIDs, timestampsMs: times, levels: levels, messages: messages,
                    table: LegacyTable.buildLogs.rawValue, lastRowID: rows.last?.rowid ?? 0)
            }
            if imported < buildIDs.count {
                report.skip(.buildLogs, Self.buildNotImported, key: "", count: Int64(buildIDs.count - imported))
            }
            report.figures(.buildLogs) { $0.imported += Int64(imported) }
        }
    }

    func importCPUSnapshots(_ database: LegacyDatabase, _ state: inout RunState, _ report: inout ImportReport) async throws {
        let unimported = state.unimportedBuilds
        try await forEachPage(
            database, .cpuSnapshots, pageSize: configuration.rowPageSize, from: state.cursor(.cpuSnapshots), &report
        ) { rows, report in
            var buildIDs: [String] = [], times: [Int64] = [], cpu: [Double] = [], memory: [Double] = []
            for row in rows {
                switch LegacyRowMapper.cpuSnapshot(row.values) {
                case .success(let sample):
                    if configuration.dryRun, unimported.contains(sample.buildID.rawValue) {
                        report.skip(.cpuSnapshots, Self.buildNotImported, key: Self.key(row.rowid, row.values))
                        continue
                    }
                    buildIDs.append(sample.buildID.rawValue)
                    times.append(sample.timestampMs)
                    cpu.append(sample.cpuPercent)
                    memory.append(sample.memoryMB)
                case .failure(let rejection):
                    report.skip(.cpuSnapshots, rejection.summary, key: Self.key(row.rowid, row.values))
                }
            }
            var imported = buildIDs.count
            if !configuration.dryRun {
                imported = try await orchestrator.importLegacyCPUSnapshots(
                    buildIDs: buildIDs, timestampsMs: times, cpuPercent: cpu, memoryMB: memory,
                    table: LegacyTable.cpuSnapshots.rawValue, lastRowID: rows.last?.rowid ?? 0)
            }
            if imported < buildIDs.count {
                report.skip(.cpuSnapshots, Self.buildNotImported, key: "", count: Int64(buildIDs.count - imported))
            }
            report.figures(.cpuSnapshots) { $0.imported += Int64(imported) }
        }
    }

    static let buildNotImported = "its build was not imported (rejected, or an id that already existed here)"
}
