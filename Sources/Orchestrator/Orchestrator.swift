public import Foundation
public import Logging
public import PostgresNIO

/// The state of builds and workers, kept in PostgreSQL and nowhere else.
///
/// Every method is one statement or one transaction; nothing needed for correctness lives in this process's
/// memory, so any number of controller processes can share one database.
///
/// ```
///            claim (SKIP LOCKED)        first heartbeat / vm-ready
///  pending ───────────────────▶ assigned ─────────────────────────▶ building
///     ▲   lease = ASSIGNMENT_LEASE  │   lease = now + HEARTBEAT_TIMEOUT  │  each heartbeat renews
///     │                            │                                    │
///     └──── lease lapsed, attempts left (sweeper) / abandon / unregister ┘
///                                  │ upload / fail / lease lapsed on the last attempt / over max duration
///                                  ▼
///                       completed | failed | cancelled   (final)
/// ```
public struct Orchestrator: Sendable {
    public let client: PostgresClient
    public let configuration: OrchestratorConfiguration
    let logger: Logger

    public init(client: PostgresClient, configuration: OrchestratorConfiguration, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `body` in one transaction on a pooled connection.
    func transaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            // The transaction was rolled back because the body refused: callers want the refusal itself.
            if let refusal = error.closureError, error.rollbackError == nil { throw refusal }
            throw error
        }
    }

    /// Queues a wake-up for long-polls on every controller process; delivered when the transaction commits.
    func notifyQueue(_ connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_notify(\(configuration.notificationChannel), 'queued')", logger: logger)
    }

    /// Appends a log line to a build inside the caller's transaction.
    func appendLog(
        _ connection: PostgresConnection, build: String, level: LogLevel = .info, _ message: String
    ) async throws {
        try await connection.query(
            """
            INSERT INTO build_logs (build_id, logged_at, level, message)
            VALUES (\(build), clock_timestamp(), \(level.rawValue), \(message))
            """,
            logger: logger
        )
    }
}

extension Date {
    /// Milliseconds since the epoch, the unit of every timestamp in the legacy shapes.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
}

extension AsyncSequence {
    /// Drains the sequence, e.g. the rows of an UPDATE that are not needed, and counts them.
    func count() async throws -> Int {
        var count = 0
        for try await _ in self { count += 1 }
        return count
    }
}
