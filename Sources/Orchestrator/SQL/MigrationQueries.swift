import Foundation
import Logging
public import PostgresNIO

extension Orchestrator {
    /// Applies every migration this binary knows and the database lacks, in order, each in its own transaction.
    ///
    /// Holds a session advisory lock for the schema while it works, so two processes starting together apply
    /// each migration once; the second waits, then finds nothing to do. Refuses a database whose schema is
    /// newer than this binary.
    public func migrate() async throws {
        try await client.withConnection { connection in
            let lockKey = "free-agent-controller:migrate"
            try await connection.query(
                "SELECT pg_advisory_lock(hashtext(\(lockKey) || current_schema()))", logger: logger)
            do {
                try await applyPending(connection)
                try await connection.query(
                    "SELECT pg_advisory_unlock(hashtext(\(lockKey) || current_schema()))", logger: logger)
            } catch {
                _ = try? await connection.query(
                    "SELECT pg_advisory_unlock(hashtext(\(lockKey) || current_schema()))", logger: logger)
                throw error
            }
        }
    }

    /// The versions applied so far, oldest first.
    public func appliedMigrations() async throws -> [Int] {
        var versions: [Int] = []
        let rows = try await client.query("SELECT version FROM schema_migrations ORDER BY version", logger: logger)
        for try await version in rows.decode(Int.self) { versions.append(version) }
        return versions
    }

    private func applyPending(_ connection: PostgresConnection) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """,
            logger: logger
        )
        var applied = Set<Int>()
        for try await version in try await connection.query(
            "SELECT version FROM schema_migrations", logger: logger
        ).decode(Int.self) {
            applied.insert(version)
        }
        let known = Set(Migrations.all.map(\.version))
        if let unknown = applied.subtracting(known).max() {
            throw OrchestratorError(
                .migrationFailed, detail: "the database has schema version \(unknown), newer than this binary")
        }
        for migration in Migrations.all where !applied.contains(migration.version) {
            try await connection.withTransaction(logger: logger) { connection in
                for statement in Migrations.statements(of: migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                )
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }
}

extension Migrations {
    /// Splits a migration into statements at semicolons that end a line (the extended protocol takes one at a
    /// time). Migrations are constants of this file's sibling, never input, which is why `unsafeSQL` is fine.
    static func statements(of sql: String) -> [String] {
        sql.components(separatedBy: ";\n")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
            .filter { statement in
                statement.split(separator: "\n").contains { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
            }
    }
}
