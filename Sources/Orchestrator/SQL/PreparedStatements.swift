import Foundation
import PostgresNIO

// The statements of a worker's hot path (its token, the claim, the release or completion), prepared once per pooled
// connection instead of sent as unnamed statements. An unnamed statement is parsed and planned on every call: for the
// claim that was 0.36 ms of parsing and 0.6 ms of planning against 0.5 ms of execution (docs/benchmarks.md). A named
// one is parsed once per connection, and PostgreSQL switches it to a generic plan after five runs when that plan is
// no worse. Every value is a bind parameter, so each statement's text never changes. The parameter types are
// declared (`bindingDataTypes`), not inferred from the first run's values: a NULL carries no type, so a statement
// first prepared with a NULL `$n` would take the type the SQL suggests and refuse a later non-NULL value of another.

/// A lookup by a token's SHA-256 digest, the one parameter.
protocol TokenDigestStatement: PostgresPreparedStatement {
    var digest: ByteBuffer { get }
}

extension TokenDigestStatement {
    static var bindingDataTypes: [PostgresDataType] { [.bytea] }

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(digest)
        return bindings
    }
}

/// The worker token with a digest (`Orchestrator.workerToken(digest:)`): every call a worker makes.
struct WorkerTokenStatement: TokenDigestStatement {
    static let name = "fac_worker_token"
    static let sql = "SELECT worker_id, expires_at, expires_at <= now(), revoked FROM worker_tokens WHERE digest = $1"
    typealias Row = (String, Date, Bool, Bool)

    var digest: ByteBuffer

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The VM or heartbeat token with a digest (`Orchestrator.vmToken(digest:)`): every call a build VM makes.
struct VMTokenStatement: TokenDigestStatement {
    static let name = "fac_vm_token"
    static let sql = "SELECT build_id, attempt, kind, expires_at <= now() FROM vm_tokens WHERE digest = $1"
    typealias Row = (String, Int, String, Bool)

    var digest: ByteBuffer

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// A poll's first statement: marks the worker seen and locks its row for the rest of the poll's transaction.
struct SeenWorkerStatement: PostgresPreparedStatement {
    static let name = "fac_seen_worker"
    static let sql = "UPDATE workers SET last_seen_at = now(), offline = false WHERE id = $1 RETURNING id"
    static let bindingDataTypes: [PostgresDataType] = [.text]
    typealias Row = String

    var workerID: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(workerID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(String.self) }
}

/// A poll's second statement, under the worker's row lock: the build the worker already holds with a fresh OTP,
/// or else the oldest eligible pending build claimed (`FOR UPDATE SKIP LOCKED`) with its attempt row, its log line
/// and a change notification. The last column says whether the build was claimed by this statement.
struct ClaimStatement: PostgresPreparedStatement {
    static let name = "fac_claim"
    static let sql = """
        WITH held AS (
            UPDATE builds SET otp_digest = $1, otp_expires_at = now() + $2 * interval '1 second'
            WHERE id = (SELECT id FROM builds WHERE worker_id = $3
                        AND status IN ('assigned', 'building') ORDER BY started_at LIMIT 1)
            RETURNING id, platform, certs_state = 'sealed' AS sealed, submitted_at, attempt
        ), claimed AS (
            UPDATE builds SET status = 'assigned', worker_id = $3, attempt = attempt + 1,
                   started_at = now(), first_heartbeat_at = NULL, vm_ready_at = NULL,
                   lease_expires_at = now() + $4 * interval '1 second',
                   otp_digest = $1, otp_expires_at = now() + $2 * interval '1 second'
            WHERE NOT EXISTS (SELECT FROM held) AND id = (
                SELECT id FROM builds
                WHERE status = 'pending'
                  AND ($5::text[] IS NULL OR platform = ANY($5::text[]))
                  AND (NOT $6 OR (platform = 'ios' AND certs_state = 'sealed'))
                ORDER BY queued_at, id
                LIMIT 1
                FOR UPDATE SKIP LOCKED)
            RETURNING id, platform, certs_state = 'sealed' AS sealed, submitted_at, attempt
        ), attempt_row AS (
            INSERT INTO build_attempts (build_id, attempt, worker_id, assigned_at)
            SELECT id, attempt, $3, now() FROM claimed
        ), log_line AS (
            INSERT INTO build_logs (build_id, logged_at, level, message)
            SELECT id, clock_timestamp(), 'info', 'Build assigned to worker ' || $3::text || ' (attempt ' || attempt || ')'
            FROM claimed
        )
        SELECT id, platform, sealed, submitted_at, attempt, false FROM held
        UNION ALL
        SELECT id, platform, sealed, submitted_at, attempt, pg_notify($7, 'changed')::text IS NOT NULL FROM claimed
        """
    static let bindingDataTypes: [PostgresDataType] = [.bytea, .float8, .text, .float8, .textArray, .bool, .text]
    typealias Row = (String, String, Bool, Date, Int, Bool)

    var otpDigest: ByteBuffer
    var otpTTLSeconds: Double
    var workerID: String
    var leaseSeconds: Double
    var platforms: [String]?
    var onlyIOSWithCerts: Bool
    var notificationChannel: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(otpDigest)
        bindings.append(otpTTLSeconds)
        bindings.append(workerID)
        bindings.append(leaseSeconds)
        bindings.append(platforms)
        bindings.append(onlyIOSWithCerts)
        bindings.append(notificationChannel)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Finishes a live attempt in one statement: the build, its holder's counters, the attempt's end, the log line and
/// the change notification. Guarded by the attempt number, or by the holder, whichever is given (the other is NULL);
/// no row comes back when the guard matched nothing.
struct FinishStatement: PostgresPreparedStatement {
    static let name = "fac_finish"
    static let sql = """
        WITH done AS (
            UPDATE builds SET status = $1::build_status, completed_at = now(),
                   error_message = $2, lease_expires_at = NULL, otp_digest = NULL, otp_expires_at = NULL,
                   result_size = coalesce($3, result_size),
                   result_sha256 = coalesce($4, result_sha256)
            WHERE id = $5 AND status IN ('assigned', 'building')
              AND ($6::int IS NULL OR attempt = $6::int)
              AND ($7::text IS NULL OR worker_id = $7::text)
            RETURNING worker_id, attempt, extract(epoch FROM completed_at - started_at)::double precision AS ran_for
        ), holder AS (
            UPDATE workers SET last_seen_at = now(), builds_completed = builds_completed + $8,
                   builds_failed = builds_failed + (1 - $8)
            WHERE id = (SELECT worker_id FROM done)
        ), ended AS (
            UPDATE build_attempts SET ended_at = now(), end_reason = $1
            WHERE build_id = $5 AND attempt = (SELECT attempt FROM done) AND ended_at IS NULL
        ), log_line AS (
            INSERT INTO build_logs (build_id, logged_at, level, message)
            SELECT $5, clock_timestamp(), $9, $10 FROM done
        )
        SELECT worker_id, ran_for, pg_notify($11, 'changed')::text IS NOT NULL
        FROM done
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .int8, .text, .text, .int8, .text, .int8, .text, .text, .text]
    typealias Row = (String, Double?, Bool)

    var status: String
    var message: String?
    var resultSize: Int64?
    var resultSHA256: String?
    var buildID: String
    var attempt: Int?
    var worker: String?
    /// 1 when the build completed, 0 when it failed: added to the holder's counters.
    var completed: Int
    var level: String
    var line: String
    var notificationChannel: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 11)
        bindings.append(status)
        bindings.append(message)
        bindings.append(resultSize)
        bindings.append(resultSHA256)
        bindings.append(buildID)
        bindings.append(attempt)
        bindings.append(worker)
        bindings.append(completed)
        bindings.append(level)
        bindings.append(line)
        bindings.append(notificationChannel)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
