import ArtifactStore
import Foundation
import Hummingbird
import Identifiers
import Logging
import Orchestrator

/// Health, public statistics and diagnostics reports.
extension Gateway {
    /// How long `/health` waits for the database before it answers 503.
    static let healthDatabaseDeadline: Duration = .seconds(3)

    /// Checks the database for real and reports the queue and the store; 503 when either is unusable.
    func health() async throws -> Response {
        let figures: BuildStatistics
        do {
            // A database that does not answer within the deadline is as good as down for a health check.
            figures = try await withDeadline(Self.healthDatabaseDeadline) { try await orchestrator.statistics() }
        } catch {
            logger.warning("health: database check failed", metadata: ["error": "\(DatabaseErrorSummary.describe(error))"])
            return .json(["error": "Database unavailable"], status: .serviceUnavailable)
        }
        let usage: StorageUsage
        do {
            try await store.checkWritable()
            usage = try await storageUsage.usage(of: store)
        } catch {
            return .json(["error": "Storage unavailable"], status: .serviceUnavailable)
        }
        var storage: [(String, JSONValue)] = [
            ("backend", .string(usage.backend)), ("bytes_used", .int(usage.bytesUsed)),
            ("blob_count", .int(usage.blobCount)),
        ]
        // A bucket has no free space to report.
        if let free = usage.freeBytes { storage.append(("free_bytes", .int(free))) }
        return .json([
            "status": "ok",
            "queue": ["pending": .int(figures.pending), "active": .int(figures.assigned + figures.building)],
            "storage": .object(storage),
            "database": "ok",
        ])
    }

    func publicStats() async throws -> Response {
        let figures = try await orchestrator.publicStatistics()
        return .json([
            "nodesOnline": .int(figures.nodesOnline), "buildsQueued": .int(figures.buildsQueued),
            "activeBuilds": .int(figures.activeBuilds), "buildsToday": .int(figures.buildsToday),
            "totalBuilds": .int(figures.totalBuilds), "totalBuildTimeMs": .int(figures.totalBuildTimeMs),
            "totalCpuCycles": .int(figures.totalCpuCycles),
        ])
    }

    struct DiagnosticPost: Decodable {
        let worker_id: String?
        let status: String?
        let duration_ms: Double?
        let auto_fixed: Bool?
        let checks: AnyJSON?
    }

    func storeDiagnostic(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let invalid = "Invalid diagnostic report"
        let body = try await JSONBody.decode(DiagnosticPost.self, from: request, invalid: invalid)
        guard let workerText = body.worker_id, let worker = WorkerID(workerText),
            let status = body.status, ["healthy", "warning", "critical"].contains(status),
            let duration = body.duration_ms, duration >= 0, duration < 1e12,
            let checks = body.checks, case .array = checks
        else { throw GatewayError.badRequest(invalid) }
        let id = try await orchestrator.storeDiagnostic(
            workerID: worker.rawValue, status: status, durationMs: Int64(duration), autoFixed: body.auto_fixed ?? false,
            checksJSON: checks.jsonValue.serialized())
        return .json(["id": .string(id), "status": "stored"])
    }

    func diagnostics(
        _ request: Request, _ context: GatewayRequestContext, _ credentials: PresentedCredentials, latestOnly: Bool
    ) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        // Echoed as asked, like the old controllers: a response that named some other id (or none)
        // would send a client following it to the wrong worker's reports.
        let segment = context.parameters.get("worker_id") ?? ""
        let requested = segment.removingPercentEncoding ?? segment
        var limit = 10
        if !latestOnly, let text = request.uri.queryParameters.get("limit") {
            guard let value = Int(text), value > 0 else { throw GatewayError.badRequest("Invalid limit") }
            limit = min(value, 100)
        }
        // An id no worker can have has no reports; it is not worth a query.
        let reports =
            if let worker = WorkerID(requested) {
                try await orchestrator.diagnostics(workerID: worker.rawValue, limit: latestOnly ? 1 : limit)
            } else { [DiagnosticReport]() }
        func json(_ report: DiagnosticReport) -> JSONValue {
            [
                "id": .string(report.id), "worker_id": .string(report.workerID), "status": .string(report.status),
                "run_at": .int(report.runAt.millisecondsSince1970), "duration_ms": .int(report.durationMs),
                "auto_fixed": .bool(report.autoFixed), "checks": RawJSON.parse(report.checksJSON),
            ]
        }
        if latestOnly {
            guard let latest = reports.first else { throw GatewayError.notFound("No diagnostic reports found") }
            return .json(json(latest))
        }
        return .json(["worker_id": .string(requested), "reports": .array(reports.map(json))])
    }
}

/// Stored JSON text back into a ``JSONValue`` (the database wrote it, so it is well-formed).
enum RawJSON {
    static func parse(_ text: String) -> JSONValue {
        guard let value = try? JSONDecoder().decode(AnyJSON.self, from: Data(text.utf8)) else { return .null }
        return value.jsonValue
    }
}

/// Runs `operation`, or throws `CancellationError` when it takes longer than `deadline`.
func withDeadline<T: Sendable>(_ deadline: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: deadline)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw CancellationError() }
        return value
    }
}
