extension Migrations {
    /// The bookkeeping of `import-legacy`: which old database is being imported, how far each of its tables has
    /// got, and which builds came from it. Progress moves in the same transaction as the rows it covers, so a
    /// run killed at any point resumes exactly where the last commit left it.
    static let legacyImport = """
        CREATE TABLE legacy_import (
            -- One old database per controller: a second, different one is refused rather than merged.
            singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            source_fingerprint  text NOT NULL,
            started_at          timestamptz NOT NULL,
            finished_at         timestamptz
        );

        -- Keyset cursors: the last legacy rowid of each table whose row has been imported or skipped.
        CREATE TABLE legacy_import_cursors (
            table_name  text PRIMARY KEY,
            last_rowid  bigint NOT NULL
        );

        CREATE TABLE legacy_import_builds (
            build_id        text PRIMARY KEY REFERENCES builds (id) ON DELETE CASCADE,
            legacy_status   text NOT NULL,
            -- The old row had no usable token: a new one was issued. Until it has been handed to the operator
            -- (printed), a re-run replaces it, because the clear text of an interrupted run is gone.
            token_issued    boolean NOT NULL,
            token_delivered boolean NOT NULL,
            -- The log line of a build re-queued by the import, appended after its legacy lines.
            requeue_note    text
        );
        CREATE INDEX legacy_import_builds_undelivered ON legacy_import_builds (build_id)
            WHERE token_issued AND NOT token_delivered;
        CREATE INDEX legacy_import_builds_requeue_notes ON legacy_import_builds (build_id)
            WHERE requeue_note IS NOT NULL;
        """
}
