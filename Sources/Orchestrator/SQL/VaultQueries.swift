public import Foundation
import Logging
import PostgresNIO

/// A build whose certs are sealed, with the wrapped data key that opens them: one row for `vault rotate-key`.
public struct SealedCertsRow: Sendable, Equatable {
    public let buildID: String
    /// The wrapped data key's bytes (ciphertext bound to the build and the version).
    public let wrappedKey: [UInt8]
    /// The master-key version that wraps it.
    public let keyVersion: Int
}

/// One line of a build's vault audit trail (`vault_events`).
public struct VaultEventRecord: Sendable, Equatable {
    /// `sealed`, `opened`, `destroyed`, `resealed` or `rewrapped`.
    public let event: String
    /// The attempt that opened the certs; `nil` for events no attempt caused.
    public let attempt: Int?
    /// The worker that opened the certs; `nil` when its VM did, or for other events.
    public let workerID: String?
    /// Why: the route of an open, the cause of a destruction, the origin of a reseal.
    public let reason: String?
    /// The master-key version concerned, where the event knows it.
    public let keyVersion: Int?
    public let at: Date
}

/// The vault's share of the builds table: which master-key versions still wrap live data keys, the guarded
/// rewrap of one key, and the audit trail. Only wrapped keys pass through here, never a master key.
extension Orchestrator {
    /// The number of sealed bundles per master-key version (versions with none are absent).
    public func sealedCertsCountByKeyVersion() async throws -> [Int: Int] {
        let rows = try await client.query(
            """
            SELECT certs_key_version, count(*) FROM builds
            WHERE certs_state = 'sealed' GROUP BY certs_key_version
            """,
            logger: logger
        )
        var counts: [Int: Int] = [:]
        for try await (version, count) in rows.decode((Int, Int).self) { counts[version] = count }
        return counts
    }

    /// Up to `limit` sealed bundles whose key is **not** wrapped by `version`, in id order after `after`
    /// (keyset paging, so a row that cannot be rewrapped is passed over and the walk still ends).
    public func sealedCertsNotWrappedBy(
        version: Int, after: String?, limit: Int
    ) async throws -> [SealedCertsRow] {
        let rows = try await client.query(
            """
            SELECT id, certs_wrapped_key, certs_key_version FROM builds
            WHERE certs_state = 'sealed' AND certs_key_version <> \(version)
              AND (\(after)::text IS NULL OR id COLLATE "C" > \(after) COLLATE "C")
            ORDER BY id COLLATE "C"
            LIMIT \(limit)
            """,
            logger: logger
        )
        var found: [SealedCertsRow] = []
        for try await (id, key, keyVersion) in rows.decode((String, ByteBuffer, Int).self) {
            found.append(SealedCertsRow(buildID: id, wrappedKey: Array(key.readableBytesView), keyVersion: keyVersion))
        }
        return found
    }

    /// Replaces a build's wrapped data key with the same data key wrapped by `newVersion`, only if the row is
    /// still sealed under `oldVersion` (a bundle destroyed or rewrapped meanwhile is left alone), and records a
    /// `rewrapped` event in the same transaction. Returns whether the row changed.
    public func replaceWrappedKey(
        build id: String, oldVersion: Int, newKey: [UInt8], newVersion: Int
    ) async throws -> Bool {
        try await transaction { connection in
            let rewrapped = try await connection.query(
                """
                UPDATE builds SET certs_wrapped_key = \(ByteBuffer(bytes: newKey)), certs_key_version = \(newVersion)
                WHERE id = \(id) AND certs_key_version = \(oldVersion) AND certs_state = 'sealed'
                RETURNING id
                """,
                logger: logger
            ).count() == 1
            guard rewrapped else { return false }
            try await recordVaultEvent(
                connection, build: id, event: "rewrapped", reason: "key version \(oldVersion) to \(newVersion)",
                keyVersion: newVersion)
            return true
        }
    }

    /// The vault audit trail of a build, oldest first; empty for a build that never had certs.
    public func vaultEvents(build id: String) async throws -> [VaultEventRecord] {
        let rows = try await client.query(
            """
            SELECT event, attempt, worker_id, reason, key_version, at FROM vault_events
            WHERE build_id = \(id) ORDER BY seq
            """,
            logger: logger
        )
        var events: [VaultEventRecord] = []
        for try await (event, attempt, worker, reason, version, at) in rows.decode(
            (String, Int?, String?, String?, Int?, Date).self)
        {
            events.append(
                VaultEventRecord(event: event, attempt: attempt, workerID: worker, reason: reason, keyVersion: version, at: at))
        }
        return events
    }
}
