import Foundation
import Logging
import PostgresNIO

/// The calls a worker or its VM makes for the build it holds. Each proves the current attempt: the update is
/// guarded by `attempt` and an active status, and an update that matched nothing is explained by ``refusal``.
extension Orchestrator {
    /// How `worker` relates to build `id`; throws ``OrchestratorError/Code/buildNotFound``.
    public func holderCheck(build id: String, worker: String) async throws -> HolderCheck {
        let rows = try await client.query(
            """
            SELECT b.attempt, b.worker_id = \(worker) AND b.attempt > 0,
                   EXISTS (SELECT 1 FROM build_attempts a WHERE a.build_id = b.id AND a.worker_id = \(worker))
            FROM builds b WHERE b.id = \(id)
            """,
            logger: logger
        )
        for try await (attempt, isHolder, heldBefore) in rows.decode((Int, Bool?, Bool).self) {
            if isHolder == true { return .current(attempt: attempt) }
            return heldBefore ? .earlierAttempt : .never
        }
        throw OrchestratorError(.buildNotFound, buildID: id)
    }

    /// The VM or heartbeat token with this digest, or `nil`.
    public func vmToken(digest: [UInt8]) async throws -> VMTokenLookup? {
        let rows = try await client.execute(VMTokenStatement(digest: ByteBuffer(bytes: digest)), logger: logger)
        for try await (build, attempt, kind, expired) in rows {
            return VMTokenLookup(buildID: build, attempt: attempt, kind: VMTokenLookup.Kind(rawValue: kind) ?? .heartbeat,
                                 isExpired: expired)
        }
        return nil
    }

    /// Why a guarded call for `attempt` of build `id` matched nothing, as the error to throw.
    public func refusal(build id: String, attempt: Int) async throws -> OrchestratorError {
        try await client.withConnection { connection in try await refusal(connection, build: id, attempt: attempt) }
    }

    /// ``refusal(build:attempt:)`` on `connection`: a transaction that was refused asks on its own connection.
    /// Asking the pool for a second one would deadlock it once every pooled connection is held by a transaction
    /// waiting for one more.
    func refusal(_ connection: PostgresConnection, build id: String, attempt: Int) async throws -> OrchestratorError {
        let rows = try await connection.query("SELECT status::text, attempt FROM builds WHERE id = \(id)", logger: logger)
        for try await (status, current) in rows.decode((String, Int).self) {
            switch BuildStatus(rawValue: status) {
            case .cancelled: return OrchestratorError(.buildCancelled, buildID: id)
            case .completed, .failed: return OrchestratorError(.buildFinished, buildID: id)
            case .pending:
                // Re-queued since: whatever attempt the caller holds is over.
                return OrchestratorError(.staleAttempt, buildID: id)
            case .assigned, .building, nil:
                return OrchestratorError(current == attempt ? .notActive : .staleAttempt, buildID: id)
            }
        }
        return OrchestratorError(.buildNotFound, buildID: id)
    }

    /// A heartbeat (or any telemetry) of the current attempt: renews the lease for the heartbeat timeout, moves
    /// `assigned` to `building`, keeps the worker alive, and logs the progress when given.
    public func heartbeat(build id: String, attempt: Int, progress: Double? = nil) async throws {
        try await transaction { connection in
            try await renewLease(connection, build: id, attempt: attempt, startBuilding: true)
            if let progress {
                let shown = progress.rounded() == progress ? String(Int(progress)) : String(progress)
                try await appendLog(connection, build: id, "Build progress: \(shown)%")
            }
        }
    }

    private func renewLease(
        _ connection: PostgresConnection, build id: String, attempt: Int, startBuilding: Bool
    ) async throws {
        let timeout = configuration.buildHeartbeatTimeout.secondsValue
        let rows = try await connection.query(
            """
            UPDATE builds b SET lease_expires_at = now() + \(timeout) * interval '1 second',
                   first_heartbeat_at = coalesce(b.first_heartbeat_at, now()),
                   status = CASE WHEN \(startBuilding) THEN 'building'::build_status ELSE b.status END
            FROM (SELECT status::text AS previous FROM builds WHERE id = \(id)) old
            WHERE b.id = \(id) AND b.attempt = \(attempt) AND b.status IN ('assigned', 'building')
            RETURNING b.worker_id, old.previous
            """,
            logger: logger
        )
        var worker: String?
        var previous: String?
        for try await (holder, status) in rows.decode((String, String).self) { (worker, previous) = (holder, status) }
        guard let worker else { throw try await refusal(connection, build: id, attempt: attempt) }
        // assigned → building is a status change the dashboards show; later heartbeats are not.
        if startBuilding, previous == BuildStatus.assigned.rawValue { try await notifyChange(connection) }
        try await connection.query(
            "UPDATE workers SET last_seen_at = now(), offline = false WHERE id = \(worker)", logger: logger)
    }

    /// Appends log lines. With `attempt`, the lines come from the holder: the attempt must be current and the
    /// lease is renewed (old VMs only post logs and telemetry).
    public func appendLogs(build id: String, attempt: Int?, lines: [(LogLevel, String)]) async throws {
        try await transaction { connection in
            if let attempt {
                try await renewLease(connection, build: id, attempt: attempt, startBuilding: false)
            }
            let levels = lines.map(\.0.rawValue)
            let messages = lines.map(\.1)
            try await connection.query(
                """
                INSERT INTO build_logs (build_id, logged_at, level, message)
                SELECT \(id), clock_timestamp(), level, message
                FROM unnest(\(levels)::text[], \(messages)::text[]) WITH ORDINALITY AS l(level, message, n)
                ORDER BY n
                """,
                logger: logger
            )
        }
    }

    /// Telemetry of the current attempt: counts as a heartbeat, and stores a CPU snapshot when one is given
    /// with both values in range.
    public func telemetry(build id: String, attempt: Int, cpuPercent: Double?, memoryMB: Double?) async throws {
        try await transaction { connection in
            try await renewLease(connection, build: id, attempt: attempt, startBuilding: true)
            if let cpuPercent, let memoryMB, (0...1000).contains(cpuPercent), (0...1_000_000).contains(memoryMB) {
                try await connection.query(
                    """
                    INSERT INTO cpu_snapshots (build_id, taken_at, cpu_percent, memory_mb)
                    VALUES (\(id), now(), \(cpuPercent), \(memoryMB))
                    """,
                    logger: logger
                )
            }
        }
    }

    /// Exchanges the build's current one-time password for a VM token of that attempt. `false` for a missing,
    /// wrong, used or expired OTP; a wrong one does not use up the valid one.
    public func exchangeOTP(build id: String, otpDigest: [UInt8], vmTokenDigest: [UInt8], vmTokenTTL: Duration) async throws -> Bool {
        try await transaction { connection in
            let rows = try await connection.query(
                """
                UPDATE builds SET otp_digest = NULL, otp_expires_at = NULL
                WHERE id = \(id) AND otp_digest = \(ByteBuffer(bytes: otpDigest)) AND otp_expires_at > now()
                  AND status IN ('assigned', 'building')
                RETURNING attempt
                """,
                logger: logger
            )
            var attempt: Int?
            for try await value in rows.decode(Int.self) { attempt = value }
            guard let attempt else { return false }
            try await insertVMToken(connection, build: id, attempt: attempt, kind: .vm, digest: vmTokenDigest, ttl: vmTokenTTL)
            return true
        }
    }

    /// The VM of the current attempt is ready: the lease becomes the heartbeat lease. Returns the ready time.
    public func markVMReady(build id: String, attempt: Int) async throws -> Date {
        try await transaction { connection in
            try await renewLease(connection, build: id, attempt: attempt, startBuilding: false)
            let rows = try await connection.query(
                "UPDATE builds SET vm_ready_at = coalesce(vm_ready_at, now()) WHERE id = \(id) RETURNING vm_ready_at",
                logger: logger
            )
            for try await readyAt in rows.decode(Date.self) { return readyAt }
            throw OrchestratorError(.buildNotFound, buildID: id)
        }
    }

    /// The live attempt of a build and when its VM became ready; `nil` when no attempt is live.
    public func liveAttempt(build id: String) async throws -> (attempt: Int, vmReadyAt: Date?)? {
        let rows = try await client.query(
            "SELECT attempt, vm_ready_at FROM builds WHERE id = \(id) AND status IN ('assigned', 'building')",
            logger: logger
        )
        for try await (attempt, readyAt) in rows.decode((Int, Date?).self) { return (attempt, readyAt) }
        return nil
    }

    /// Stores a heartbeat-only token for the live attempt, keeping at most the newest 20 per attempt.
    public func issueHeartbeatToken(build id: String, attempt: Int, digest: [UInt8], ttl: Duration) async throws {
        try await transaction { connection in
            try await insertVMToken(connection, build: id, attempt: attempt, kind: .heartbeat, digest: digest, ttl: ttl)
            try await connection.query(
                """
                DELETE FROM vm_tokens WHERE build_id = \(id) AND attempt = \(attempt) AND kind = 'heartbeat'
                  AND digest NOT IN (SELECT digest FROM vm_tokens WHERE build_id = \(id) AND attempt = \(attempt)
                                     AND kind = 'heartbeat' ORDER BY issued_at DESC LIMIT 20)
                """,
                logger: logger
            )
        }
    }

    private func insertVMToken(
        _ connection: PostgresConnection, build: String, attempt: Int, kind: VMTokenLookup.Kind, digest: [UInt8],
        ttl: Duration
    ) async throws {
        try await connection.query(
            """
            INSERT INTO vm_tokens (digest, build_id, attempt, kind, issued_at, expires_at)
            VALUES (\(ByteBuffer(bytes: digest)), \(build), \(attempt), \(kind.rawValue), now(),
                    now() + \(ttl.secondsValue) * interval '1 second')
            """,
            logger: logger
        )
    }

    /// The current attempt finished with a result. `placeResult` puts the result file in place while the build's
    /// row is locked for this attempt, so no other attempt can complete, and no re-queue can happen, between the
    /// file landing and the build completing; if it throws, nothing changes.
    public func complete(
        build id: String, attempt: Int, placeResult: @Sendable () async throws -> ResultFile
    ) async throws {
        try await transaction { connection in
            let locked = try await connection.query(
                """
                SELECT id FROM builds WHERE id = \(id) AND attempt = \(attempt) AND status IN ('assigned', 'building')
                FOR UPDATE
                """,
                logger: logger
            ).count()
            guard locked == 1 else { throw try await refusal(connection, build: id, attempt: attempt) }
            let result = try await placeResult()
            try await finish(connection, build: id, attempt: attempt, status: .completed, message: nil, result: result)
        }
    }

    /// The current attempt failed; the build is finished with `message`.
    public func fail(build id: String, attempt: Int, message: String) async throws {
        // One statement is atomic on its own: no BEGIN/COMMIT round trips around it.
        try await client.withConnection { connection in
            try await finish(connection, build: id, attempt: attempt, status: .failed, message: message, result: nil)
        }
    }

    /// The live attempt that `worker` holds failed, in one statement guarded by the holder instead of by an attempt
    /// number looked up first (``holderCheck``, then ``fail(build:attempt:message:)``): one round trip fewer
    /// on a worker's `fail`. `false` when `worker` holds no live attempt of build `id` — unknown build, someone
    /// else's, an earlier attempt, already finished — and then nothing changed: the caller explains why with
    /// the usual checks.
    public func failHeld(build id: String, worker: String, message: String) async throws -> Bool {
        try await client.withConnection { connection in
            try await finish(connection, build: id, guard: .holder(worker), status: .failed, message: message, result: nil)
        }
    }

    /// What a finishing statement is guarded by, besides the build being live (`assigned` or `building`).
    private enum FinishGuard {
        /// The caller proved this attempt beforehand.
        case attempt(Int)
        /// Whatever live attempt this worker holds.
        case holder(String)
    }

    /// Finishes the attempt in one statement (one round trip): the build, its holder's counters, the attempt's end,
    /// the log line and the change notification; refused unless `attempt` is the build's live attempt.
    private func finish(
        _ connection: PostgresConnection, build id: String, attempt: Int, status: BuildStatus, message: String?,
        result: ResultFile?
    ) async throws {
        guard try await finish(connection, build: id, guard: .attempt(attempt), status: status, message: message, result: result) else {
            throw try await refusal(connection, build: id, attempt: attempt)
        }
    }

    /// The finishing statement; `false` when it matched nothing (no change).
    private func finish(
        _ connection: PostgresConnection, build id: String, guard finishGuard: FinishGuard, status: BuildStatus,
        message: String?, result: ResultFile?
    ) async throws -> Bool {
        let (attempt, worker): (Int?, String?)
        switch finishGuard {
        case .attempt(let number): (attempt, worker) = (number, nil)
        case .holder(let holder): (attempt, worker) = (nil, holder)
        }
        let completed = status == .completed ? 1 : 0
        let level = status == .completed ? LogLevel.info : .error
        let line = status == .completed ? "Build completed" : "Build failed: \(message ?? "Build failed")"
        let statement = FinishStatement(
            status: status.rawValue, message: message, resultSize: result?.size, resultSHA256: result?.sha256,
            buildID: id, attempt: attempt, worker: worker, completed: completed, level: level.rawValue, line: line,
            notificationChannel: configuration.notificationChannel)
        let rows = try await connection.execute(statement, logger: logger)
        var finished = false
        var ranFor: Double?
        for try await (_, seconds, _) in rows { (finished, ranFor) = (true, seconds) }
        guard finished else { return false }
        OrchestratorMetrics.buildFinished(status: status, ranFor: ranFor)
        return true
    }

    /// The worker gives the build back: it returns to the queue at once.
    public func abandon(build id: String, attempt: Int, reason: String?) async throws {
        try await transaction { connection in
            let text = reason.map { "Worker abandoned the build: \($0); build re-queued" } ?? "Worker abandoned the build; build re-queued"
            try await requeue(connection, build: id, attempt: attempt, reason: text)
        }
    }

    /// Puts the attempt's build back in the queue (keeping its place), ends the attempt and wakes long-polls.
    func requeue(_ connection: PostgresConnection, build id: String, attempt: Int, reason: String) async throws {
        let rows = try await connection.query(
            """
            UPDATE builds SET status = 'pending', worker_id = NULL, lease_expires_at = NULL, started_at = NULL,
                   first_heartbeat_at = NULL, otp_digest = NULL, otp_expires_at = NULL, vm_ready_at = NULL
            WHERE id = \(id) AND attempt = \(attempt) AND status IN ('assigned', 'building')
            RETURNING id
            """,
            logger: logger
        ).count()
        guard rows == 1 else { throw try await refusal(connection, build: id, attempt: attempt) }
        // The attempt's VM tokens stay (bound to their attempt) so a late call is told "stale" (409), not "wrong" (403).
        try await endAttempt(connection, build: id, attempt: attempt, reason: "requeued")
        try await appendLog(connection, build: id, level: .warn, reason)
        try await notifyQueue(connection)
        OrchestratorMetrics.requeued()
    }

    func endAttempt(_ connection: PostgresConnection, build id: String, attempt: Int, reason: String) async throws {
        try await connection.query(
            """
            UPDATE build_attempts SET ended_at = now(), end_reason = \(reason)
            WHERE build_id = \(id) AND attempt = \(attempt) AND ended_at IS NULL
            """,
            logger: logger
        )
    }

    /// A build's log lines in arrival order; with `cursor`, only the lines after it.
    public func logs(build id: String, after cursor: Int64?) async throws -> [LogLine] {
        let rows = try await client.query(
            """
            SELECT seq, logged_at, level, message FROM build_logs
            WHERE build_id = \(id) AND seq > \(cursor ?? 0) ORDER BY seq
            """,
            logger: logger
        )
        var lines: [LogLine] = []
        for try await (seq, at, level, message) in rows.decode((Int64, Date, String, String).self) {
            lines.append(LogLine(sequence: seq, timestamp: at, level: LogLevel(rawValue: level) ?? .info, message: message))
        }
        return lines
    }
}
