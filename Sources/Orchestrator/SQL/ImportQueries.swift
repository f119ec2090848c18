import Foundation
import Logging
import PostgresNIO

/// A worker of the old controller, ready to insert.
public struct ImportedWorker: Sendable {
    public var id: String
    public var name: String
    public var capabilitiesJSON: String
    public var registeredAtMs: Int64
    public var lastSeenAtMs: Int64
    public var offline: Bool
    public var buildsCompleted: Int32
    public var buildsFailed: Int32

    public init(
        id: String, name: String, capabilitiesJSON: String, registeredAtMs: Int64, lastSeenAtMs: Int64, offline: Bool,
        buildsCompleted: Int32, buildsFailed: Int32
    ) {
        (self.id, self.name, self.capabilitiesJSON) = (id, name, capabilitiesJSON)
        (self.registeredAtMs, self.lastSeenAtMs, self.offline) = (registeredAtMs, lastSeenAtMs, offline)
        (self.buildsCompleted, self.buildsFailed) = (buildsCompleted, buildsFailed)
    }
}

/// A build of the old controller, its files already in the store and its certs sealed or tombstoned.
public struct ImportedBuild: Sendable {
    /// What became of the old plaintext cert bundle.
    public enum Certs: Sendable, Equatable {
        case none
        case sealed(SealedCertsReference)
        /// The build was finished: the bundle is not imported and the row carries the tombstone.
        case destroyed(reason: String)
    }

    public var id: String
    public var status: BuildStatus
    public var legacyStatus: String
    public var platform: String
    public var accessTokenDigest: [UInt8]
    /// The token was issued by the import (the old row had none).
    public var tokenIssued: Bool
    public var submittedAtMs: Int64
    public var startedAtMs: Int64?
    public var completedAtMs: Int64?
    public var errorMessage: String?
    /// Dropped at insert when no such worker was imported.
    public var workerID: String?
    public var source: (size: Int64, sha256: String)?
    public var result: (size: Int64, sha256: String)?
    public var certs: Certs
    /// The log line appended after the build's legacy lines when the import re-queued it.
    public var requeueNote: String?

    public init(
        id: String, status: BuildStatus, legacyStatus: String, platform: String, accessTokenDigest: [UInt8],
        tokenIssued: Bool, submittedAtMs: Int64
    ) {
        (self.id, self.status, self.legacyStatus, self.platform) = (id, status, legacyStatus, platform)
        (self.accessTokenDigest, self.tokenIssued, self.submittedAtMs) = (accessTokenDigest, tokenIssued, submittedAtMs)
        self.certs = .none
    }
}

/// A diagnostics report of the old controller.
public struct ImportedDiagnostic: Sendable {
    public var id: String
    public var workerID: String
    public var status: String
    public var runAtMs: Int64
    public var durationMs: Int64
    public var autoFixed: Bool
    public var checksJSON: String

    public init(
        id: String, workerID: String, status: String, runAtMs: Int64, durationMs: Int64, autoFixed: Bool,
        checksJSON: String
    ) {
        (self.id, self.workerID, self.status, self.runAtMs) = (id, workerID, status, runAtMs)
        (self.durationMs, self.autoFixed, self.checksJSON) = (durationMs, autoFixed, checksJSON)
    }
}

/// `import-legacy`'s writes. Every page of legacy rows is one transaction that also moves that table's cursor,
/// so the database never holds half a page and a re-run starts after the last committed one. Times arrive as
/// ms since the epoch and become `timestamptz` exactly (`ms * interval '1 millisecond'` is exact below 2^53 µs,
/// which the import's plausibility bound keeps).
extension Orchestrator {
    /// `true` when the import's tables exist (a dry run on an unmigrated database must not create them).
    public func legacyImportSchemaExists() async throws -> Bool {
        let rows = try await client.query("SELECT to_regclass('legacy_import_cursors') IS NOT NULL", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// The fingerprint of the old database already being imported, if any.
    public func legacyImportFingerprint() async throws -> String? {
        let rows = try await client.query("SELECT source_fingerprint FROM legacy_import", logger: logger)
        for try await fingerprint in rows.decode(String.self) { return fingerprint }
        return nil
    }

    /// Records that `fingerprint` is being imported, unless an import is already recorded; returns the
    /// fingerprint on record (the caller refuses a different one).
    public func beginLegacyImport(fingerprint: String) async throws -> String {
        let rows = try await client.query(
            """
            WITH inserted AS (
                INSERT INTO legacy_import (source_fingerprint, started_at) VALUES (\(fingerprint), now())
                ON CONFLICT (singleton) DO NOTHING RETURNING source_fingerprint)
            SELECT source_fingerprint FROM inserted UNION ALL SELECT source_fingerprint FROM legacy_import
            """,
            logger: logger
        )
        for try await stored in rows.decode(String.self) { return stored }
        return fingerprint
    }

    /// Marks the import finished (a later run that finds nothing new leaves it so).
    public func finishLegacyImport() async throws {
        try await client.query("UPDATE legacy_import SET finished_at = now()", logger: logger)
    }

    /// The last legacy rowid handled per table name.
    public func legacyImportCursors() async throws -> [String: Int64] {
        var cursors: [String: Int64] = [:]
        let rows = try await client.query("SELECT table_name, last_rowid FROM legacy_import_cursors", logger: logger)
        for try await (table, rowid) in rows.decode((String, Int64).self) { cursors[table] = rowid }
        return cursors
    }

    /// Which of `ids` name existing builds.
    public func existingBuildIDs(_ ids: [String]) async throws -> Set<String> {
        var found = Set<String>()
        let rows = try await client.query("SELECT id FROM builds WHERE id = ANY(\(ids))", logger: logger)
        for try await id in rows.decode(String.self) { found.insert(id) }
        return found
    }

    /// Which of `ids` name existing workers.
    public func existingWorkerIDs(_ ids: [String]) async throws -> Set<String> {
        var found = Set<String>()
        let rows = try await client.query("SELECT id FROM workers WHERE id = ANY(\(ids))", logger: logger)
        for try await id in rows.decode(String.self) { found.insert(id) }
        return found
    }

    /// Inserts workers (an id that exists is left alone) and moves the cursor; returns the ids inserted.
    public func importLegacyWorkers(_ workers: [ImportedWorker], table: String, lastRowID: Int64) async throws -> [String] {
        try await transaction { connection in
            var inserted: [String] = []
            for worker in workers {
                let rows = try await connection.query(
                    """
                    INSERT INTO workers (id, name, capabilities, registered_at, last_seen_at, offline, builds_completed,
                                         builds_failed)
                    VALUES (\(worker.id), \(worker.name), \(worker.capabilitiesJSON)::jsonb,
                            'epoch'::timestamptz + \(worker.registeredAtMs) * interval '1 millisecond',
                            'epoch'::timestamptz + \(worker.lastSeenAtMs) * interval '1 millisecond',
                            \(worker.offline), \(Int(worker.buildsCompleted)), \(Int(worker.buildsFailed)))
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """,
                    logger: logger
                )
                for try await id in rows.decode(String.self) { inserted.append(id) }
            }
            try await moveLegacyCursor(connection, table: table, to: lastRowID)
            return inserted
        }
    }

    /// Inserts builds with their import records and vault events, and moves the cursor; returns the ids
    /// inserted (an id that exists meanwhile is left alone). A worker that was not imported is dropped.
    public func importLegacyBuilds(_ builds: [ImportedBuild], table: String, lastRowID: Int64) async throws -> [String] {
        try await transaction { connection in
            var inserted: [String] = []
            for build in builds {
                var certsState = CertsState.none.rawValue
                var wrappedKey: ByteBuffer?
                var keyVersion: Int?
                var destroyReason: String?
                switch build.certs {
                case .none: break
                case .sealed(let reference):
                    (certsState, wrappedKey, keyVersion) = ("sealed", ByteBuffer(bytes: reference.wrappedKey), reference.keyVersion)
                case .destroyed(let reason):
                    (certsState, destroyReason) = ("destroyed", reason)
                }
                let rows = try await connection.query(
                    """
                    INSERT INTO builds (id, status, platform, access_token_digest, submitted_at, queued_at, started_at,
                                        completed_at, error_message, worker_id, source_size, source_sha256, result_size,
                                        result_sha256, certs_state, certs_wrapped_key, certs_key_version,
                                        certs_destroyed_at, certs_destroy_reason)
                    SELECT \(build.id), \(build.status.rawValue)::build_status, \(build.platform),
                           \(ByteBuffer(bytes: build.accessTokenDigest)),
                           'epoch'::timestamptz + \(build.submittedAtMs) * interval '1 millisecond',
                           'epoch'::timestamptz + \(build.submittedAtMs) * interval '1 millisecond',
                           'epoch'::timestamptz + \(build.startedAtMs)::int8 * interval '1 millisecond',
                           'epoch'::timestamptz + \(build.completedAtMs)::int8 * interval '1 millisecond',
                           \(build.errorMessage), (SELECT w.id FROM workers w WHERE w.id = \(build.workerID)),
                           \(build.source?.size), \(build.source?.sha256), \(build.result?.size), \(build.result?.sha256),
                           \(certsState), \(wrappedKey), \(keyVersion),
                           CASE WHEN \(certsState) = 'destroyed' THEN now() END, \(destroyReason)
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """,
                    logger: logger
                )
                guard try await rows.count() == 1 else { continue }
                inserted.append(build.id)
                try await connection.query(
                    """
                    INSERT INTO legacy_import_builds (build_id, legacy_status, token_issued, token_delivered, requeue_note)
                    VALUES (\(build.id), \(build.legacyStatus), \(build.tokenIssued), false, \(build.requeueNote))
                    """,
                    logger: logger
                )
                switch build.certs {
                case .none: break
                case .sealed(let reference):
                    try await recordVaultEvent(
                        connection, build: build.id, event: "sealed", reason: "imported from the old controller",
                        keyVersion: reference.keyVersion)
                case .destroyed(let reason):
                    try await recordVaultEvent(connection, build: build.id, event: "destroyed", reason: reason, keyVersion: nil)
                }
            }
            try await moveLegacyCursor(connection, table: table, to: lastRowID)
            return inserted
        }
    }

    /// Appends log lines in the order given (their `seq` follows it), only for builds this import created, and
    /// moves the cursor; returns how many were inserted.
    public func importLegacyLogLines(
        buildIDs: [String], timestampsMs: [Int64], levels: [String], messages: [String], table: String, lastRowID: Int64
    ) async throws -> Int {
        try await insertPageCounting(
            """
            WITH inserted AS (
                INSERT INTO build_logs (build_id, logged_at, level, message)
                SELECT u.build_id, 'epoch'::timestamptz + u.ms * interval '1 millisecond', u.level, u.message
                FROM unnest(\(buildIDs)::text[], \(timestampsMs)::int8[], \(levels)::text[], \(messages)::text[])
                     WITH ORDINALITY AS u(build_id, ms, level, message, ord)
                WHERE EXISTS (SELECT 1 FROM legacy_import_builds i WHERE i.build_id = u.build_id)
                ORDER BY u.ord
                RETURNING 1)
            SELECT count(*) FROM inserted
            """,
            table: table, lastRowID: lastRowID)
    }

    /// Appends CPU samples, only for builds this import created, and moves the cursor; returns how many.
    public func importLegacyCPUSnapshots(
        buildIDs: [String], timestampsMs: [Int64], cpuPercent: [Double], memoryMB: [Double], table: String,
        lastRowID: Int64
    ) async throws -> Int {
        try await insertPageCounting(
            """
            WITH inserted AS (
                INSERT INTO cpu_snapshots (build_id, taken_at, cpu_percent, memory_mb)
                SELECT u.build_id, 'epoch'::timestamptz + u.ms * interval '1 millisecond', u.cpu, u.memory
                FROM unnest(\(buildIDs)::text[], \(timestampsMs)::int8[], \(cpuPercent)::float8[], \(memoryMB)::float8[])
                     WITH ORDINALITY AS u(build_id, ms, cpu, memory, ord)
                WHERE EXISTS (SELECT 1 FROM legacy_import_builds i WHERE i.build_id = u.build_id)
                ORDER BY u.ord
                RETURNING 1)
            SELECT count(*) FROM inserted
            """,
            table: table, lastRowID: lastRowID)
    }

    /// Runs one page's `INSERT … RETURNING` wrapped in `SELECT count(*)`, and moves the table's cursor past the page,
    /// in one transaction; returns the count.
    private func insertPageCounting(_ insert: PostgresQuery, table: String, lastRowID: Int64) async throws -> Int {
        try await transaction { connection in
            let rows = try await connection.query(insert, logger: logger)
            var count = 0
            for try await inserted in rows.decode(Int.self) { count = inserted }
            try await moveLegacyCursor(connection, table: table, to: lastRowID)
            return count
        }
    }

    /// Inserts diagnostics of workers that exist (an id that exists is left alone) and moves the cursor;
    /// returns how many were inserted.
    public func importLegacyDiagnostics(_ reports: [ImportedDiagnostic], table: String, lastRowID: Int64) async throws -> Int {
        try await transaction { connection in
            var count = 0
            for report in reports {
                count += try await connection.query(
                    """
                    INSERT INTO diagnostics (id, worker_id, status, run_at, duration_ms, auto_fixed, checks)
                    SELECT \(report.id), \(report.workerID), \(report.status),
                           'epoch'::timestamptz + \(report.runAtMs) * interval '1 millisecond', \(report.durationMs),
                           \(report.autoFixed), \(report.checksJSON)::jsonb
                    WHERE EXISTS (SELECT 1 FROM workers w WHERE w.id = \(report.workerID))
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """,
                    logger: logger
                ).count()
            }
            try await moveLegacyCursor(connection, table: table, to: lastRowID)
            return count
        }
    }
}
