/// The versioned schema, applied in order at start-up under an advisory lock (see ``Orchestrator/migrate()``).
///
/// A migration is never edited once released: a change is a new entry at the end. Every fact about a build
/// that the state machine relies on is also a CHECK here, so a bug in a query cannot store an impossible row.
enum Migrations {
    struct Migration: Sendable {
        let version: Int
        let name: String
        let sql: String
    }

    static let all: [Migration] = [
        Migration(version: 1, name: "initial schema", sql: initialSchema),
        Migration(version: 2, name: "dashboard sessions", sql: dashboardSessions),
        Migration(version: 3, name: "legacy import", sql: legacyImport),
    ]

    private static let initialSchema = """
        CREATE TYPE build_status AS ENUM ('pending', 'assigned', 'building', 'completed', 'failed', 'cancelled');

        CREATE TABLE workers (
            id              text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
            name            text NOT NULL,
            capabilities    jsonb NOT NULL DEFAULT '{}',
            registered_at   timestamptz NOT NULL,
            last_seen_at    timestamptz NOT NULL,
            -- Set by unregister or revocation, cleared by the next registration or poll. Idle and building are
            -- derived from the builds a worker holds, so they cannot drift.
            offline         boolean NOT NULL DEFAULT false,
            builds_completed integer NOT NULL DEFAULT 0,
            builds_failed    integer NOT NULL DEFAULT 0
        );

        CREATE TABLE worker_tokens (
            digest      bytea PRIMARY KEY CHECK (length(digest) = 32),
            worker_id   text NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
            issued_at   timestamptz NOT NULL,
            expires_at  timestamptz NOT NULL,
            revoked     boolean NOT NULL DEFAULT false
        );
        CREATE INDEX worker_tokens_by_worker ON worker_tokens (worker_id, issued_at DESC);

        CREATE TABLE builds (
            id                  text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
            status              build_status NOT NULL DEFAULT 'pending',
            platform            text NOT NULL CONSTRAINT platform_known CHECK (platform IN ('ios', 'android')),
            access_token_digest bytea NOT NULL CHECK (length(access_token_digest) = 32),
            submitted_at        timestamptz NOT NULL,
            -- Queue order: oldest first. A re-queued build keeps its place; a retry is a new build.
            queued_at           timestamptz NOT NULL,
            started_at          timestamptz,
            completed_at        timestamptz,
            error_message       text,
            worker_id           text REFERENCES workers (id),
            attempt             integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
            lease_expires_at    timestamptz,
            -- Set by the first heartbeat or vm-ready of an attempt: from then on the lease is the short one.
            first_heartbeat_at  timestamptz,
            otp_digest          bytea,
            otp_expires_at      timestamptz,
            vm_ready_at         timestamptz,
            source_size         bigint,
            source_sha256       text,
            result_size         bigint,
            result_sha256       text,
            artifacts_purged_at timestamptz,
            certs_state         text NOT NULL DEFAULT 'none'
                                CONSTRAINT certs_state_known CHECK (certs_state IN ('none', 'sealed', 'destroyed')),
            certs_wrapped_key   bytea,
            certs_key_version   integer,
            certs_destroyed_at  timestamptz,
            certs_destroy_reason text,
            original_build_id   text,
            CONSTRAINT active_build_has_holder CHECK (
                CASE WHEN status IN ('assigned', 'building')
                    THEN worker_id IS NOT NULL AND lease_expires_at IS NOT NULL
                    ELSE lease_expires_at IS NULL
                END
            ),
            CONSTRAINT finished_build_has_completion CHECK (
                status NOT IN ('completed', 'failed', 'cancelled') OR completed_at IS NOT NULL
            ),
            CONSTRAINT sealed_certs_have_key CHECK (
                (certs_state = 'sealed') = (certs_wrapped_key IS NOT NULL AND certs_key_version IS NOT NULL)
            )
        );
        CREATE INDEX builds_queue ON builds (queued_at, id) WHERE status = 'pending';
        CREATE INDEX builds_by_worker ON builds (worker_id) WHERE status IN ('assigned', 'building');
        CREATE INDEX builds_recent ON builds (submitted_at DESC, id DESC);
        CREATE INDEX builds_leases ON builds (lease_expires_at) WHERE status IN ('assigned', 'building');

        -- One row per claim: who held which attempt, so a call from an earlier holder is told "stale" (409)
        -- rather than "never yours" (403).
        CREATE TABLE build_attempts (
            build_id    text NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
            attempt     integer NOT NULL,
            worker_id   text NOT NULL REFERENCES workers (id),
            assigned_at timestamptz NOT NULL,
            ended_at    timestamptz,
            end_reason  text,
            PRIMARY KEY (build_id, attempt)
        );
        CREATE INDEX build_attempts_by_worker ON build_attempts (worker_id, build_id);

        -- VM tokens (from an OTP) and heartbeat-only tokens (from vm-status), each bound to one attempt.
        CREATE TABLE vm_tokens (
            digest      bytea PRIMARY KEY CHECK (length(digest) = 32),
            build_id    text NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
            attempt     integer NOT NULL,
            kind        text NOT NULL CHECK (kind IN ('vm', 'heartbeat')),
            issued_at   timestamptz NOT NULL,
            expires_at  timestamptz NOT NULL
        );
        CREATE INDEX vm_tokens_by_build ON vm_tokens (build_id, attempt, kind, issued_at);

        CREATE TABLE build_logs (
            -- Arrival order: ties in logged_at stay in the order the lines reached the database.
            seq         bigserial PRIMARY KEY,
            build_id    text NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
            logged_at   timestamptz NOT NULL,
            level       text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
            message     text NOT NULL
        );
        CREATE INDEX build_logs_by_build ON build_logs (build_id, seq);

        CREATE TABLE cpu_snapshots (
            seq         bigserial PRIMARY KEY,
            build_id    text NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
            taken_at    timestamptz NOT NULL,
            cpu_percent double precision NOT NULL CHECK (cpu_percent BETWEEN 0 AND 1000),
            memory_mb   double precision NOT NULL CHECK (memory_mb BETWEEN 0 AND 1000000)
        );
        CREATE INDEX cpu_snapshots_by_build ON cpu_snapshots (build_id);

        CREATE TABLE diagnostics (
            id          text PRIMARY KEY,
            worker_id   text NOT NULL,
            status      text NOT NULL CHECK (status IN ('healthy', 'warning', 'critical')),
            run_at      timestamptz NOT NULL,
            duration_ms bigint NOT NULL,
            auto_fixed  boolean NOT NULL DEFAULT false,
            checks      jsonb NOT NULL
        );
        CREATE INDEX diagnostics_by_worker ON diagnostics (worker_id, run_at DESC);

        -- Every open and destruction of a cert bundle, for the operator.
        CREATE TABLE vault_events (
            seq         bigserial PRIMARY KEY,
            build_id    text NOT NULL,
            attempt     integer,
            worker_id   text,
            event       text NOT NULL CHECK (event IN ('sealed', 'opened', 'destroyed', 'resealed', 'rewrapped')),
            reason      text,
            key_version integer,
            at          timestamptz NOT NULL
        );
        CREATE INDEX vault_events_by_build ON vault_events (build_id, seq);
        """
}
