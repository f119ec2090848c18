import Identifiers
import Orchestrator

/// Workers and their diagnostics reports.
extension LegacyImporter {
    func importWorkers(_ database: LegacyDatabase, _ state: inout RunState, _ report: inout ImportReport) async throws {
        try await forEachPage(
            database, .workers, pageSize: configuration.buildPageSize, from: state.cursor(.workers), &report
        ) { rows, report in
            var workers: [ImportedWorker] = []
            for row in rows {
                switch LegacyRowMapper.worker(row.values) {
                case .success(let worker):
                    workers.append(
                        ImportedWorker(
                            id: worker.id.rawValue, name: worker.name, capabilitiesJSON: worker.capabilitiesJSON,
                            registeredAtMs: worker.registeredAtMs, lastSeenAtMs: worker.lastSeenAtMs, offline: worker.offline,
                            buildsCompleted: worker.buildsCompleted, buildsFailed: worker.buildsFailed))
                case .failure(let rejection):
                    report.skip(.workers, rejection.summary, key: Self.key(row.rowid, row.values))
                    if case .text(let id) = row.values.first { state.rejectedWorkers.insert(id) }
                }
            }
            let inserted: Set<String>
            if configuration.dryRun {
                let existing = state.hasControllerTables ? try await orchestrator.existingWorkerIDs(workers.map(\.id)) : []
                inserted = Set(workers.map(\.id)).subtracting(existing)
            } else {
                inserted = Set(
                    try await orchestrator.importLegacyWorkers(
                        workers, table: LegacyTable.workers.rawValue, lastRowID: rows.last?.rowid ?? 0))
            }
            for worker in workers where !inserted.contains(worker.id) {
                // Typically the worker already registered here with its old id: its new record is the truth.
                report.skip(.workers, "a worker with this id is already registered here (left as it is)", key: worker.id)
            }
            report.figures(.workers) { $0.imported += Int64(inserted.count) }
        }
    }

    func importDiagnostics(_ database: LegacyDatabase, _ state: inout RunState, _ report: inout ImportReport) async throws {
        let rejectedWorkers = state.rejectedWorkers
        try await forEachPage(
            database, .diagnostics, pageSize: configuration.buildPageSize, from: state.cursor(.diagnostics), &report
        ) { rows, report in
            var reports: [ImportedDiagnostic] = []
            for row in rows {
                switch LegacyRowMapper.diagnostic(row.values) {
                case .success(let diagnostic):
                    if configuration.dryRun, rejectedWorkers.contains(diagnostic.workerID.rawValue) {
                        report.skip(.diagnostics, Self.workerNotImported, key: Self.key(row.rowid, row.values))
                        continue
                    }
                    reports.append(
                        ImportedDiagnostic(
                            id: diagnostic.id, workerID: diagnostic.workerID.rawValue, status: diagnostic.status,
                            runAtMs: diagnostic.runAtMs, durationMs: diagnostic.durationMs, autoFixed: diagnostic.autoFixed,
                            checksJSON: diagnostic.checksJSON))
                case .failure(let rejection):
                    report.skip(.diagnostics, rejection.summary, key: Self.key(row.rowid, row.values))
                }
            }
            var imported = reports.count
            if !configuration.dryRun {
                imported = try await orchestrator.importLegacyDiagnostics(
                    reports, table: LegacyTable.diagnostics.rawValue, lastRowID: rows.last?.rowid ?? 0)
            }
            if imported < reports.count {
                report.skip(.diagnostics, Self.workerNotImported, key: "", count: Int64(reports.count - imported))
            }
            report.figures(.diagnostics) { $0.imported += Int64(imported) }
        }
    }

    static let workerNotImported = "its worker was not imported, or a report with this id exists here"
}
