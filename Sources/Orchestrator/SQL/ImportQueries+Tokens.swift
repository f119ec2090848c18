import Foundation
import Logging
import PostgresNIO

/// `import-legacy`'s cursor, the tokens it issues and the log lines it appends last.
extension Orchestrator {
    func moveLegacyCursor(_ connection: PostgresConnection, table: String, to rowid: Int64) async throws {
        try await connection.query(
            """
            INSERT INTO legacy_import_cursors (table_name, last_rowid) VALUES (\(table), \(rowid))
            ON CONFLICT (table_name) DO UPDATE SET last_rowid = greatest(legacy_import_cursors.last_rowid, EXCLUDED.last_rowid)
            """,
            logger: logger
        )
    }

    /// Up to `limit` imported builds whose issued token never reached the operator (the run that issued it was
    /// interrupted), in id order.
    public func legacyBuildsWithUndeliveredTokens(limit: Int) async throws -> [String] {
        var ids: [String] = []
        let rows = try await client.query(
            """
            SELECT build_id FROM legacy_import_builds WHERE token_issued AND NOT token_delivered
            ORDER BY build_id COLLATE "C" LIMIT \(limit)
            """,
            logger: logger
        )
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// Replaces the token digests of imported builds whose issued token was not delivered yet; returns the ids
    /// changed (a build that is no longer undelivered is left alone).
    public func replaceUndeliveredLegacyTokens(_ digests: [(buildID: String, digest: [UInt8])]) async throws -> [String] {
        try await transaction { connection in
            var replaced: [String] = []
            for (id, digest) in digests {
                let rows = try await connection.query(
                    """
                    UPDATE builds b SET access_token_digest = \(ByteBuffer(bytes: digest))
                    FROM legacy_import_builds i
                    WHERE b.id = \(id) AND i.build_id = b.id AND i.token_issued AND NOT i.token_delivered
                    RETURNING b.id
                    """,
                    logger: logger
                )
                for try await changed in rows.decode(String.self) { replaced.append(changed) }
            }
            return replaced
        }
    }

    /// Records that the issued tokens of `ids` have been handed to the operator: a re-run keeps them.
    public func markLegacyTokensDelivered(_ ids: [String]) async throws {
        try await client.query(
            "UPDATE legacy_import_builds SET token_delivered = true WHERE build_id = ANY(\(ids)) AND token_issued",
            logger: logger
        )
    }

    /// Appends the log line of each build the import re-queued, after its legacy lines, and wakes long-polls;
    /// returns how many. Each note is appended once: it is cleared in the same statement.
    public func appendLegacyRequeueNotes() async throws -> Int {
        try await transaction { connection in
            let rows = try await connection.query(
                """
                WITH noted AS (
                    -- RETURNING shows the updated row, so the old note comes from the locked subquery.
                    UPDATE legacy_import_builds i SET requeue_note = NULL
                    FROM (SELECT build_id, requeue_note FROM legacy_import_builds WHERE requeue_note IS NOT NULL
                          FOR UPDATE) old
                    WHERE i.build_id = old.build_id
                    RETURNING i.build_id, old.requeue_note AS note),
                inserted AS (
                    INSERT INTO build_logs (build_id, logged_at, level, message)
                    SELECT build_id, clock_timestamp(), 'warn', note FROM (SELECT build_id, note FROM noted ORDER BY build_id) n
                    RETURNING 1)
                SELECT count(*) FROM inserted
                """,
                logger: logger
            )
            var count = 0
            for try await appended in rows.decode(Int.self) { count = appended }
            if count > 0 { try await notifyQueue(connection) }
            return count
        }
    }
}

extension Orchestrator {
    /// `true` when the relation `name` exists in the current schema (a dry run checks before it reads).
    public func relationExists(_ name: String) async throws -> Bool {
        let rows = try await client.query("SELECT to_regclass(\(name)) IS NOT NULL", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }
}
