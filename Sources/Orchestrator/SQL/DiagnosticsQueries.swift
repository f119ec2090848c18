import Foundation
import Logging
import PostgresNIO

/// Workers' self-diagnostics reports.
extension Orchestrator {
    /// Stores a report; returns its new id.
    public func storeDiagnostic(
        workerID: String, status: String, durationMs: Int64, autoFixed: Bool, checksJSON: String
    ) async throws -> String {
        let id = UUID().uuidString.lowercased()
        try await client.query(
            """
            INSERT INTO diagnostics (id, worker_id, status, run_at, duration_ms, auto_fixed, checks)
            VALUES (\(id), \(workerID), \(status), now(), \(durationMs), \(autoFixed), \(checksJSON)::jsonb)
            """,
            logger: logger
        )
        return id
    }

    /// A worker's reports, newest first.
    public func diagnostics(workerID: String, limit: Int) async throws -> [DiagnosticReport] {
        let rows = try await client.query(
            """
            SELECT id, worker_id, status, run_at, duration_ms, auto_fixed, checks::text FROM diagnostics
            WHERE worker_id = \(workerID) ORDER BY run_at DESC, id DESC LIMIT \(limit)
            """,
            logger: logger
        )
        var reports: [DiagnosticReport] = []
        for try await (id, worker, status, runAt, duration, fixed, checks) in rows.decode(
            (String, String, String, Date, Int64, Bool, String).self)
        {
            reports.append(
                DiagnosticReport(
                    id: id, workerID: worker, status: status, runAt: runAt, durationMs: duration, autoFixed: fixed,
                    checksJSON: checks))
        }
        return reports
    }
}
