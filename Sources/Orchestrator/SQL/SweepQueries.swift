import Foundation
import Logging
import PostgresNIO

/// What one sweep did.
public struct SweepResult: Sendable, Equatable {
    /// Builds whose lease lapsed with attempts left, back in the queue.
    public var requeued = 0
    /// Builds whose lease lapsed on their last attempt.
    public var failedOutOfAttempts = 0
    /// Builds that ran over the maximum duration.
    public var failedOverDuration = 0

    public init() {}
}

/// The rescue of builds whose holders went quiet: River's job rescuer, in our terms.
extension Orchestrator {
    /// Batch size of one sweep query; a sweep loops until a batch comes back short.
    static let sweepBatchSize = 100

    /// Re-queues (or fails, once the attempts are used up) every build whose lease lapsed before `now`, and
    /// fails every attempt running longer than the maximum duration. Safe to run in several processes at once:
    /// rows are locked with `SKIP LOCKED` and every update is guarded by the attempt it read.
    ///
    /// - Parameter now: the time to judge leases by; `nil` is the database's clock (tests pass a later time
    ///   instead of sleeping).
    public func sweep(now: Date? = nil) async throws -> SweepResult {
        var result = SweepResult()
        while true {
            let batch = try await transaction { connection in
                try await sweepBatch(connection, now: now, result: result)
            }
            let handled = batch.requeued + batch.failedOutOfAttempts + batch.failedOverDuration
                - (result.requeued + result.failedOutOfAttempts + result.failedOverDuration)
            result = batch
            if handled < Self.sweepBatchSize { break }
        }
        // VM and heartbeat tokens outlive their attempt only to tell late callers why they are refused.
        try await client.query(
            "DELETE FROM vm_tokens WHERE expires_at < coalesce(\(now)::timestamptz, now()) - interval '1 day'",
            logger: logger)
        return result
    }

    private func sweepBatch(_ connection: PostgresConnection, now: Date?, result: SweepResult) async throws -> SweepResult {
        var result = result
        let maxDuration = configuration.maxBuildDuration.secondsValue
        let rows = try await connection.query(
            """
            SELECT id, attempt,
                   started_at < coalesce(\(now)::timestamptz, now()) - \(maxDuration) * interval '1 second',
                   first_heartbeat_at IS NOT NULL
            FROM builds
            WHERE status IN ('assigned', 'building')
              AND (lease_expires_at < coalesce(\(now)::timestamptz, now())
                   OR started_at < coalesce(\(now)::timestamptz, now()) - \(maxDuration) * interval '1 second')
            ORDER BY lease_expires_at
            LIMIT \(Self.sweepBatchSize)
            FOR UPDATE SKIP LOCKED
            """,
            logger: logger
        )
        var lapsed: [(id: String, attempt: Int, overDuration: Bool, heartbeatSeen: Bool)] = []
        for try await row in rows.decode((String, Int, Bool, Bool).self) { lapsed.append(row) }
        for build in lapsed {
            if build.overDuration {
                let message = "Build exceeded the maximum duration of \(Int(maxDuration)) s"
                try await failLapsed(connection, build: build.id, attempt: build.attempt, message: message)
                result.failedOverDuration += 1
                continue
            }
            let silence = build.heartbeatSeen
                ? "no heartbeat for \(Int(configuration.buildHeartbeatTimeout.secondsValue)) s"
                : "no heartbeat or vm-ready within the assignment lease of \(Int(configuration.assignmentLease.secondsValue)) s"
            if build.attempt >= configuration.maxAttempts {
                let message = "Lease expired (\(silence)) on attempt \(build.attempt) of \(configuration.maxAttempts); build failed"
                try await failLapsed(connection, build: build.id, attempt: build.attempt, message: message)
                result.failedOutOfAttempts += 1
                OrchestratorMetrics.leaseExpired(requeued: false)
            } else {
                let reason = "Lease expired (\(silence)) on attempt \(build.attempt) of \(configuration.maxAttempts); build re-queued"
                try await requeue(connection, build: build.id, attempt: build.attempt, reason: reason)
                result.requeued += 1
                OrchestratorMetrics.leaseExpired(requeued: true)
            }
        }
        return result
    }

    private func failLapsed(_ connection: PostgresConnection, build id: String, attempt: Int, message: String) async throws {
        let rows = try await connection.query(
            """
            UPDATE builds SET status = 'failed', completed_at = now(), error_message = \(message),
                   lease_expires_at = NULL, otp_digest = NULL, otp_expires_at = NULL
            WHERE id = \(id) AND attempt = \(attempt) AND status IN ('assigned', 'building')
            RETURNING worker_id, extract(epoch FROM completed_at - started_at)::double precision
            """,
            logger: logger
        )
        for try await (worker, ranFor) in rows.decode((String, Double?).self) {
            try await connection.query(
                "UPDATE workers SET builds_failed = builds_failed + 1 WHERE id = \(worker)", logger: logger)
            OrchestratorMetrics.buildFinished(status: .failed, ranFor: ranFor)
        }
        try await endAttempt(connection, build: id, attempt: attempt, reason: "lease expired")
        try await appendLog(connection, build: id, level: .error, message)
        try await notifyChange(connection)
    }
}
