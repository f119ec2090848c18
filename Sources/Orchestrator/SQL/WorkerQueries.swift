import Foundation
import Identifiers
import Logging
import PostgresNIO

/// Workers: registration, tokens, the claim, unregistering, figures.
extension Orchestrator {
    /// Registers a new worker, or re-registers a known id with a fresh token.
    ///
    /// A re-registration that says `active_build_count: 0` gives back any build the worker still holds; with
    /// one or more, or without the field, the worker keeps its build.
    public func register(_ registration: Registration) async throws -> RegistrationResult {
        try await transaction { connection in
            let id = registration.proposedID ?? WorkerID.random().rawValue
            let rows = try await connection.query(
                """
                INSERT INTO workers (id, name, capabilities, registered_at, last_seen_at)
                VALUES (\(id), \(registration.name), \(registration.capabilitiesJSON)::jsonb, now(), now())
                ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, capabilities = EXCLUDED.capabilities,
                    last_seen_at = now(), offline = false
                RETURNING (xmax = 0) AS inserted
                """,
                logger: logger
            )
            var isNew = true
            for try await inserted in rows.decode(Bool.self) { isNew = inserted }
            try await insertWorkerToken(connection, worker: id, digest: registration.tokenDigest)
            var requeued = 0
            if !isNew, registration.activeBuildCount == 0 {
                requeued = try await requeueHeldBuilds(
                    connection, worker: id, reason: "Worker re-registered without an active build; build re-queued")
            }
            try await notifyChange(connection)
            return RegistrationResult(workerID: id, isNew: isNew, buildsRequeued: requeued)
        }
    }

    /// Stores a new token for `worker`; older tokens stay valid until their own expiry.
    public func issueWorkerToken(worker: String, digest: [UInt8]) async throws {
        try await transaction { connection in
            try await insertWorkerToken(connection, worker: worker, digest: digest)
        }
    }

    private func insertWorkerToken(_ connection: PostgresConnection, worker: String, digest: [UInt8]) async throws {
        try await connection.query(
            """
            INSERT INTO worker_tokens (digest, worker_id, issued_at, expires_at)
            VALUES (\(ByteBuffer(bytes: digest)), \(worker), now(),
                    now() + \(configuration.workerTokenTTL.secondsValue) * interval '1 second')
            """,
            logger: logger
        )
        // Tokens long past any grace are dead weight.
        try await connection.query(
            """
            DELETE FROM worker_tokens WHERE worker_id = \(worker)
              AND expires_at < now() - \(OrchestratorConfiguration.expiredTokenUnregisterGrace.secondsValue) * interval '1 second'
            """,
            logger: logger
        )
    }

    /// The worker token with this digest, or `nil`.
    public func workerToken(digest: [UInt8]) async throws -> WorkerTokenLookup? {
        let rows = try await client.execute(WorkerTokenStatement(digest: ByteBuffer(bytes: digest)), logger: logger)
        for try await (worker, expiresAt, expired, revoked) in rows {
            return WorkerTokenLookup(workerID: worker, expiresAt: expiresAt, isExpired: expired, isRevoked: revoked)
        }
        return nil
    }

    /// The worker, with its derived status, or `nil`.
    public func worker(_ id: String) async throws -> WorkerRecord? {
        try await workers(where: id).first
    }

    /// Every worker, most recently seen first.
    public func listWorkers() async throws -> [WorkerRecord] {
        try await workers(where: nil)
    }

    private func workers(where id: String?) async throws -> [WorkerRecord] {
        let rows = try await client.query(
            """
            SELECT w.id, w.name,
                   CASE WHEN held.id IS NOT NULL THEN 'building'
                        WHEN w.offline OR w.last_seen_at < now() - \(configuration.workerOfflineAfter.secondsValue) * interval '1 second'
                        THEN 'offline' ELSE 'idle' END,
                   w.registered_at, w.last_seen_at, w.builds_completed, w.builds_failed, held.id
            FROM workers w
            LEFT JOIN LATERAL (SELECT b.id FROM builds b WHERE b.worker_id = w.id AND b.status IN ('assigned', 'building')
                               LIMIT 1) held ON true
            WHERE \(id)::text IS NULL OR w.id = \(id)
            ORDER BY w.last_seen_at DESC, w.id
            """,
            logger: logger
        )
        var found: [WorkerRecord] = []
        for try await (id, name, status, registered, seen, completed, failed, current) in rows.decode(
            (String, String, String, Date, Date, Int, Int, String?).self)
        {
            found.append(
                WorkerRecord(
                    id: id, name: name, status: status, registeredAt: registered, lastSeenAt: seen,
                    buildsCompleted: completed, buildsFailed: failed, currentBuildID: current))
        }
        return found
    }

    /// Hands the worker a build: the one it already holds (with a fresh OTP replacing any unused one), or the
    /// oldest eligible pending build, claimed with `FOR UPDATE SKIP LOCKED` so one build goes to exactly one
    /// worker however many processes poll at once. `nil` when there is nothing for it.
    public func poll(_ request: PollRequest) async throws -> AssignedJob? {
        try await transaction { connection in
            // Locks the worker row: two polls of one worker cannot claim two builds.
            let seen = try await connection.execute(SeenWorkerStatement(workerID: request.workerID), logger: logger).count()
            guard seen == 1 else { throw OrchestratorError(.workerNotFound) }
            // The rest in one statement (one round trip): the held build with a fresh OTP, or else a claim with its
            // attempt row, log line and notification. The worker row locked above keeps a second poll of this
            // worker out until we commit, so the held check cannot miss a build that poll claims.
            let claim = ClaimStatement(
                otpDigest: ByteBuffer(bytes: request.otpDigest), otpTTLSeconds: configuration.otpTTL.secondsValue,
                workerID: request.workerID, leaseSeconds: configuration.assignmentLease.secondsValue,
                platforms: request.platforms, onlyIOSWithCerts: request.onlyIOSWithCerts,
                notificationChannel: configuration.notificationChannel)
            for try await job in try await connection.execute(claim, logger: logger) {
                // A re-queued build keeps its queued_at, the submission time: only first attempts say how long
                // a build waited in the queue.
                if job.5, job.4 == 1 { OrchestratorMetrics.firstAssignment(after: Date().timeIntervalSince(job.3)) }
                return AssignedJob(buildID: job.0, platform: job.1, hasCerts: job.2, submittedAt: job.3, attempt: job.4)
            }
            return nil
        }
    }

    /// Takes a worker offline and gives back every build it holds. Returns how many went back to the queue.
    public func unregister(worker: String) async throws -> Int {
        try await transaction { connection in
            let found = try await connection.query(
                "UPDATE workers SET offline = true WHERE id = \(worker) RETURNING id", logger: logger
            ).count()
            guard found == 1 else { throw OrchestratorError(.workerNotFound) }
            try await notifyChange(connection)
            return try await requeueHeldBuilds(connection, worker: worker, reason: "Worker unregistered; build re-queued")
        }
    }

    /// Revokes every token of a worker, takes it offline and gives back its builds.
    public func revoke(worker: String) async throws -> Int {
        try await transaction { connection in
            let found = try await connection.query(
                "UPDATE workers SET offline = true WHERE id = \(worker) RETURNING id", logger: logger
            ).count()
            guard found == 1 else { throw OrchestratorError(.workerNotFound) }
            try await connection.query("UPDATE worker_tokens SET revoked = true WHERE worker_id = \(worker)", logger: logger)
            try await notifyChange(connection)
            return try await requeueHeldBuilds(connection, worker: worker, reason: "Worker revoked; build re-queued")
        }
    }

    func requeueHeldBuilds(_ connection: PostgresConnection, worker: String, reason: String) async throws -> Int {
        let held = try await connection.query(
            """
            SELECT id, attempt FROM builds WHERE worker_id = \(worker) AND status IN ('assigned', 'building') FOR UPDATE
            """,
            logger: logger
        )
        var builds: [(String, Int)] = []
        for try await build in held.decode((String, Int).self) { builds.append(build) }
        for (build, attempt) in builds {
            try await requeue(connection, build: build, attempt: attempt, reason: reason)
        }
        return builds.count
    }

    /// Figures of the public statistics, real ones only, zero on an empty database.
    public func publicStatistics() async throws -> PublicStatistics {
        let rows = try await client.query(
            """
            SELECT
              (SELECT count(*) FROM workers WHERE NOT offline AND last_seen_at > now() - interval '2 minutes'),
              (SELECT count(*) FROM builds WHERE status = 'pending'),
              (SELECT count(*) FROM builds WHERE status IN ('assigned', 'building')),
              (SELECT count(*) FROM builds WHERE status = 'completed'
                  AND completed_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
              (SELECT count(*) FROM builds WHERE status IN ('completed', 'failed', 'cancelled')),
              (SELECT coalesce(sum(extract(epoch FROM completed_at - started_at) * 1000), 0)::bigint FROM builds
                  WHERE status IN ('completed', 'failed', 'cancelled') AND started_at IS NOT NULL),
              (SELECT coalesce(avg(cpu_percent), 0)::double precision FROM cpu_snapshots)
            """,
            logger: logger
        )
        var figures = PublicStatistics()
        for try await row in rows.decode((Int, Int, Int, Int, Int, Int64, Double).self) {
            figures.nodesOnline = row.0
            figures.buildsQueued = row.1
            figures.activeBuilds = row.2
            figures.buildsToday = row.3
            figures.totalBuilds = row.4
            figures.totalBuildTimeMs = row.5
            figures.totalCpuCycles = Int64((row.6 / 100 * Double(row.5) / 1000).rounded(.down))
        }
        return figures
    }
}


extension Orchestrator {
    /// Whether any build waits in the queue (one probe of the `builds_queue` partial index): the held long-polls'
    /// cheap periodic re-check, before any of them tries a claim.
    public func pendingBuildExists() async throws -> Bool {
        let rows = try await client.query("SELECT EXISTS (SELECT 1 FROM builds WHERE status = 'pending')", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// The `capabilities.platforms` a worker declared; `nil` when it declared none (it takes any platform).
    public func declaredPlatforms(worker: String) async throws -> [String]? {
        let rows = try await client.query(
            """
            SELECT CASE WHEN jsonb_typeof(capabilities -> 'platforms') = 'array'
                        THEN ARRAY(SELECT jsonb_array_elements_text(capabilities -> 'platforms')) END
            FROM workers WHERE id = \(worker)
            """,
            logger: logger
        )
        for try await platforms in rows.decode([String]?.self) { return platforms }
        return nil
    }
}
