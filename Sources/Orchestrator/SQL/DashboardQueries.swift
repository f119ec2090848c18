public import Foundation
import Logging
import PostgresNIO

/// What the operator's dashboard shows, read in one go. Holds no token, digest, key or file name.
public struct DashboardSnapshot: Sendable {
    /// A pending build, in queue order.
    public struct Pending: Sendable {
        public let id: String
        public let platform: String
        public let position: Int
        public let queuedAt: Date
        public let attempt: Int
    }

    /// A build held by a worker.
    public struct Active: Sendable {
        public let id: String
        public let platform: String
        public let status: BuildStatus
        public let workerID: String
        public let workerName: String?
        public let startedAt: Date?
        public let attempt: Int
    }

    /// A recent build, whatever its status.
    public struct Recent: Sendable {
        public let id: String
        public let platform: String
        public let status: BuildStatus
        public let submittedAt: Date
        public let startedAt: Date?
        public let completedAt: Date?
        public let errorMessage: String?
    }

    public let now: Date
    public let pending: [Pending]
    public let active: [Active]
    public let workers: [WorkerRecord]
    public let recent: [Recent]
    public let statistics: PublicStatistics
    /// More pending builds exist than ``pending`` lists.
    public let pendingTotal: Int
}

/// Figures for the metrics endpoint, read from the database at scrape time (the same on every process).
public struct QueueFigures: Sendable {
    /// Pending builds per platform.
    public var pendingByPlatform: [String: Int] = [:]
    /// Builds per status, every status present (zero when none).
    public var buildsByStatus: [BuildStatus: Int] = [:]
}

extension Orchestrator {
    /// The dashboard's view of the farm: the queue (first `limit` pending), active builds, workers, the last
    /// `limit` builds and the public statistics.
    public func dashboardSnapshot(limit: Int = 50) async throws -> DashboardSnapshot {
        let now = Date()
        var pending: [DashboardSnapshot.Pending] = []
        var pendingTotal = 0
        let pendingRows = try await client.query(
            """
            SELECT id, platform, row_number() OVER (ORDER BY queued_at, id COLLATE "C")::int, queued_at, attempt,
                   count(*) OVER ()::int
            FROM builds WHERE status = 'pending'
            ORDER BY queued_at, id COLLATE "C"
            LIMIT \(limit)
            """,
            logger: logger)
        for try await row in pendingRows.decode((String, String, Int, Date, Int, Int).self) {
            pending.append(.init(id: row.0, platform: row.1, position: row.2, queuedAt: row.3, attempt: row.4))
            pendingTotal = row.5
        }
        var active: [DashboardSnapshot.Active] = []
        let activeRows = try await client.query(
            """
            SELECT b.id, b.platform, b.status::text, b.worker_id, w.name, b.started_at, b.attempt
            FROM builds b LEFT JOIN workers w ON w.id = b.worker_id
            WHERE b.status IN ('assigned', 'building')
            ORDER BY b.started_at, b.id
            LIMIT \(limit)
            """,
            logger: logger)
        for try await row in activeRows.decode((String, String, String, String, String?, Date?, Int).self) {
            active.append(
                .init(
                    id: row.0, platform: row.1, status: BuildStatus(rawValue: row.2) ?? .assigned, workerID: row.3,
                    workerName: row.4, startedAt: row.5, attempt: row.6))
        }
        var recent: [DashboardSnapshot.Recent] = []
        let recentRows = try await client.query(
            """
            SELECT id, platform, status::text, submitted_at, started_at, completed_at, error_message
            FROM builds ORDER BY submitted_at DESC, id DESC LIMIT \(limit)
            """,
            logger: logger)
        for try await row in recentRows.decode((String, String, String, Date, Date?, Date?, String?).self) {
            recent.append(
                .init(
                    id: row.0, platform: row.1, status: BuildStatus(rawValue: row.2) ?? .pending, submittedAt: row.3,
                    startedAt: row.4, completedAt: row.5, errorMessage: row.6))
        }
        return DashboardSnapshot(
            now: now, pending: pending, active: active, workers: try await listWorkers(), recent: recent,
            statistics: try await publicStatistics(), pendingTotal: pendingTotal)
    }

    /// Queue depth per platform and builds per status, for `/metrics`.
    public func queueFigures() async throws -> QueueFigures {
        var figures = QueueFigures()
        for status in BuildStatus.allCases { figures.buildsByStatus[status] = 0 }
        for platform in ["ios", "android"] { figures.pendingByPlatform[platform] = 0 }
        let rows = try await client.query(
            "SELECT status::text, platform, count(*)::int FROM builds GROUP BY status, platform", logger: logger)
        for try await (statusText, platform, count) in rows.decode((String, String, Int).self) {
            guard let status = BuildStatus(rawValue: statusText) else { continue }
            figures.buildsByStatus[status, default: 0] += count
            if status == .pending { figures.pendingByPlatform[platform, default: 0] += count }
        }
        return figures
    }

    /// This process's database sessions by state (`active`, `idle`, `idle in transaction`, …): every session
    /// whose `application_name` is the one this connection carries, which `serve` makes unique per process.
    /// Empty when no application name is set (nothing would tell this process's sessions apart).
    public func connectionStates() async throws -> [String: Int] {
        let rows = try await client.query(
            """
            SELECT coalesce(state, 'unknown'), count(*)::int FROM pg_stat_activity
            WHERE current_setting('application_name') <> '' AND application_name = current_setting('application_name')
            GROUP BY 1
            """,
            logger: logger)
        var states: [String: Int] = [:]
        for try await (state, count) in rows.decode((String, Int).self) { states[state] = count }
        return states
    }

    /// Tells every controller process that something the dashboard shows has changed (a build's status, a
    /// worker's registration); delivered when the transaction commits. Long-polls ignore it (it is not
    /// `queued`), dashboards re-read.
    func notifyChange(_ connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_notify(\(configuration.notificationChannel), 'changed')", logger: logger)
    }
}
