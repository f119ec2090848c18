import Foundation
import Logging
import PostgresNIO

extension Migrations {
    /// Version 2: the dashboard's sign-in sessions, in the database so that a session works on every controller
    /// process behind a load balancer. Only the SHA-256 of a session token is stored.
    static let dashboardSessions = """
        CREATE TABLE dashboard_sessions (
            digest      bytea PRIMARY KEY CHECK (length(digest) = 32),
            created_at  timestamptz NOT NULL,
            expires_at  timestamptz NOT NULL
        );
        CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
        """
}

/// The dashboard's sessions: created at sign-in, looked up by the digest of the cookie, deleted at sign-out.
extension Orchestrator {
    /// Stores a new session that lasts `lifetime`, and drops expired ones on the way.
    public func createDashboardSession(digest: [UInt8], lifetime: Duration) async throws {
        try await transaction { connection in
            try await connection.query("DELETE FROM dashboard_sessions WHERE expires_at < now()", logger: logger)
            try await connection.query(
                """
                INSERT INTO dashboard_sessions (digest, created_at, expires_at)
                VALUES (\(ByteBuffer(bytes: digest)), now(), now() + \(lifetime.secondsValue) * interval '1 second')
                """,
                logger: logger
            )
        }
    }

    /// Whether a live (unexpired) session has this digest.
    public func dashboardSessionIsLive(digest: [UInt8]) async throws -> Bool {
        let rows = try await client.query(
            "SELECT 1 FROM dashboard_sessions WHERE digest = \(ByteBuffer(bytes: digest)) AND expires_at > now()",
            logger: logger)
        return try await rows.count() > 0
    }

    /// Ends a session (sign-out), and wakes the live streams so that one open in another tab or on another
    /// process ends now rather than at its next refresh. Ending one that does not exist is not an error.
    public func deleteDashboardSession(digest: [UInt8]) async throws {
        try await transaction { connection in
            try await connection.query(
                "DELETE FROM dashboard_sessions WHERE digest = \(ByteBuffer(bytes: digest))", logger: logger)
            try await notifyChange(connection)
        }
    }
}
