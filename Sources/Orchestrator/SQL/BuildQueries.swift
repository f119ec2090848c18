import Foundation
import Identifiers
import Logging
import PostgresNIO

/// Builds as the submitter and the operator see them: submit, read, list, cancel, retry.
extension Orchestrator {
    /// Inserts a submitted build with its first log line and wakes long-polls. Returns the submission time.
    public func submit(_ build: NewBuild) async throws -> Date {
        try await transaction { connection in
            let certsState = build.sealedCerts == nil ? CertsState.none.rawValue : CertsState.sealed.rawValue
            let wrappedKey = build.sealedCerts.map { ByteBuffer(bytes: $0.wrappedKey) }
            let rows = try await connection.query(
                """
                INSERT INTO builds (id, platform, access_token_digest, submitted_at, queued_at, source_size,
                                    source_sha256, certs_state, certs_wrapped_key, certs_key_version, original_build_id)
                VALUES (\(build.id), \(build.platform), \(ByteBuffer(bytes: build.accessTokenDigest)), now(), now(),
                        \(build.sourceSize), \(build.sourceSHA256), \(certsState), \(wrappedKey),
                        \(build.sealedCerts?.keyVersion), \(build.originalBuildID))
                RETURNING submitted_at
                """,
                logger: logger
            )
            var submittedAt = Date()
            for try await value in rows.decode(Date.self) { submittedAt = value }
            let message = build.originalBuildID.map { "Build submitted (retry of \($0))" } ?? "Build submitted"
            try await appendLog(connection, build: build.id, message)
            if let original = build.originalBuildID {
                try await appendLog(connection, build: original, "Retried as build \(build.id)")
            }
            if let certs = build.sealedCerts {
                try await recordVaultEvent(
                    connection, build: build.id, event: build.originalBuildID == nil ? "sealed" : "resealed",
                    reason: build.originalBuildID.map { "retry of \($0)" }, keyVersion: certs.keyVersion)
            }
            try await notifyQueue(connection)
            return submittedAt
        }
    }

    /// The build with this id, or `nil`.
    public func build(_ id: String) async throws -> BuildRecord? {
        let rows = try await client.query("\(unescaped: BuildColumns.select) WHERE b.id = \(id)", logger: logger)
        for try await row in rows { return try BuildColumns.decode(row) }
        return nil
    }

    /// The 1-based place of a pending build in the queue, or `nil` when it is not pending.
    public func queuePosition(of id: String) async throws -> Int? {
        let rows = try await client.query(
            """
            SELECT count(*) FROM builds q, builds b
            WHERE b.id = \(id) AND b.status = 'pending' AND q.status = 'pending'
              AND (q.queued_at, q.id COLLATE "C") <= (b.queued_at, b.id COLLATE "C")
            """,
            logger: logger
        )
        for try await count in rows.decode(Int.self) { return count == 0 ? nil : count }
        return nil
    }

    /// `true` when `digest` is the build's access token digest; `nil` when there is no such build.
    public func buildTokenMatches(build id: String, digest: [UInt8]) async throws -> Bool? {
        let rows = try await client.query(
            "SELECT access_token_digest FROM builds WHERE id = \(id)", logger: logger)
        for try await stored in rows.decode(ByteBuffer.self) {
            return ConstantTime.equals(Array(stored.readableBytesView), digest)
        }
        return nil
    }

    /// Builds newest first (ties: higher id first, byte-wise), filtered and paged.
    public func listBuilds(_ query: BuildListQuery) async throws -> [BuildRecord] {
        var cursor: (Date, String)?
        if let before = query.before {
            let rows = try await client.query("SELECT submitted_at FROM builds WHERE id = \(before)", logger: logger)
            for try await date in rows.decode(Date.self) { cursor = (date, before) }
            guard cursor != nil else { throw OrchestratorError(.invalidCursor) }
        }
        let statuses = query.statuses?.map(\.rawValue)
        let rows = try await client.query(
            """
            \(unescaped: BuildColumns.select)
            WHERE (\(statuses)::text[] IS NULL OR b.status::text = ANY(\(statuses)::text[]))
              AND (\(query.platform)::text IS NULL OR b.platform = \(query.platform))
              AND (\(query.workerID)::text IS NULL OR b.worker_id = \(query.workerID))
              AND (\(cursor?.0)::timestamptz IS NULL
                   OR (b.submitted_at, b.id COLLATE "C") < (\(cursor?.0), \(cursor?.1) COLLATE "C"))
            ORDER BY b.submitted_at DESC, b.id COLLATE "C" DESC
            LIMIT \(query.limit)
            """,
            logger: logger
        )
        var builds: [BuildRecord] = []
        for try await row in rows { builds.append(try BuildColumns.decode(row)) }
        return builds
    }

    /// Builds held by workers (assigned or building), oldest first.
    public func activeBuilds() async throws -> [BuildRecord] {
        let rows = try await client.query(
            """
            \(unescaped: BuildColumns.select)
            WHERE b.status IN ('assigned', 'building') ORDER BY b.started_at, b.id
            """,
            logger: logger
        )
        var builds: [BuildRecord] = []
        for try await row in rows { builds.append(try BuildColumns.decode(row)) }
        return builds
    }

    /// Counts of builds per status.
    public func statistics() async throws -> BuildStatistics {
        var figures = BuildStatistics()
        let rows = try await client.query("SELECT status::text, count(*) FROM builds GROUP BY status", logger: logger)
        for try await (status, count) in rows.decode((String, Int).self) {
            figures.total += count
            switch BuildStatus(rawValue: status) {
            case .pending: figures.pending = count
            case .assigned: figures.assigned = count
            case .building: figures.building = count
            case .completed: figures.completed = count
            case .failed: figures.failed = count
            case .cancelled: figures.cancelled = count
            case nil: break
            }
        }
        return figures
    }

    /// Cancels a build that is not finished: it is never handed out again and its worker is released.
    /// Throws ``OrchestratorError/Code/buildFinished`` for a finished one.
    public func cancel(_ id: String) async throws {
        try await transaction { connection in
            let rows = try await connection.query(
                """
                UPDATE builds SET status = 'cancelled', completed_at = now(), error_message = 'Build cancelled by user',
                       lease_expires_at = NULL, otp_digest = NULL, otp_expires_at = NULL
                WHERE id = \(id) AND status IN ('pending', 'assigned', 'building')
                RETURNING attempt, worker_id
                """,
                logger: logger
            )
            var cancelled = false
            for try await (attempt, _) in rows.decode((Int, String?).self) {
                cancelled = true
                try await endAttempt(connection, build: id, attempt: attempt, reason: "cancelled")
            }
            guard cancelled else {
                // On this connection: a second one from the pool could deadlock it (see `refusal`).
                let exists = try await connection.query("SELECT 1 FROM builds WHERE id = \(id)", logger: logger).count() == 1
                throw OrchestratorError(exists ? .buildFinished : .buildNotFound, buildID: id)
            }
            try await appendLog(connection, build: id, "Build cancelled by user")
            try await notifyChange(connection)
            OrchestratorMetrics.buildFinished(status: .cancelled, ranFor: nil)
        }
    }

    /// Marks a build's certs destroyed, leaving the tombstone `GET /api/builds/:id` shows.
    public func markCertsDestroyed(_ id: String, reason: String) async throws {
        try await transaction { connection in
            let rows = try await connection.query(
                """
                UPDATE builds SET certs_state = 'destroyed', certs_destroyed_at = now(), certs_destroy_reason = \(reason),
                       certs_wrapped_key = NULL
                WHERE id = \(id) AND certs_state = 'sealed'
                RETURNING certs_key_version
                """,
                logger: logger
            )
            for try await version in rows.decode(Int?.self) {
                try await recordVaultEvent(connection, build: id, event: "destroyed", reason: reason, keyVersion: version)
                OrchestratorMetrics.vaultDestroyed()
            }
        }
    }

    /// Builds whose sealed certs should be destroyed: completed ones at once, failed or cancelled ones once
    /// they have been finished for `grace`.
    public func buildsWithCertsToDestroy(grace: Duration, limit: Int = 100) async throws -> [(id: String, status: BuildStatus)] {
        let rows = try await client.query(
            """
            SELECT id, status::text FROM builds
            WHERE certs_state = 'sealed' AND (status = 'completed'
               OR (status IN ('failed', 'cancelled') AND completed_at < now() - \(grace.secondsValue) * interval '1 second'))
            ORDER BY completed_at LIMIT \(limit)
            """,
            logger: logger
        )
        var found: [(id: String, status: BuildStatus)] = []
        for try await (id, status) in rows.decode((String, String).self) {
            found.append((id, BuildStatus(rawValue: status) ?? .failed))
        }
        return found
    }

    func recordVaultEvent(
        _ connection: PostgresConnection, build: String, attempt: Int? = nil, worker: String? = nil, event: String,
        reason: String?, keyVersion: Int?
    ) async throws {
        try await connection.query(
            """
            INSERT INTO vault_events (build_id, attempt, worker_id, event, reason, key_version, at)
            VALUES (\(build), \(attempt), \(worker), \(event), \(reason), \(keyVersion), now())
            """,
            logger: logger
        )
    }

    /// Records that a holder opened a build's certs.
    public func recordCertsOpened(build: String, attempt: Int, worker: String?, via route: String) async throws {
        try await transaction { connection in
            try await recordVaultEvent(
                connection, build: build, attempt: attempt, worker: worker, event: "opened", reason: route,
                keyVersion: nil)
        }
        OrchestratorMetrics.vaultOpened()
    }
}


/// Retention: the sources and results of builds finished long ago.
extension Orchestrator {
    /// Finished builds whose files are older than `age` and not yet purged, oldest first.
    public func buildsDueForPurge(olderThan age: Duration, limit: Int = 100) async throws -> [String] {
        let rows = try await client.query(
            """
            SELECT id FROM builds
            WHERE status IN ('completed', 'failed', 'cancelled') AND artifacts_purged_at IS NULL
              AND completed_at < now() - \(age.secondsValue) * interval '1 second'
            ORDER BY completed_at LIMIT \(limit)
            """,
            logger: logger
        )
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// Records that a build's source and result were deleted: the row stays, marked as having no artifact.
    public func markArtifactsPurged(_ id: String) async throws {
        try await transaction { connection in
            let rows = try await connection.query(
                "UPDATE builds SET artifacts_purged_at = now() WHERE id = \(id) AND artifacts_purged_at IS NULL RETURNING id",
                logger: logger
            ).count()
            if rows == 1 { try await appendLog(connection, build: id, "Source and result deleted by the retention policy") }
        }
    }
}
