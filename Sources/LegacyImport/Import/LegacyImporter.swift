public import ArtifactStore
public import CertVault
import Foundation
public import Logging
public import NIOPosix
public import Orchestrator

/// Moves the old controller's SQLite database and storage folder into this controller.
///
/// Tables are imported in dependency order (workers, builds with their files, build logs, CPU snapshots,
/// diagnostics), each in keyset pages by legacy `rowid`. Every page is one transaction that also moves the
/// table's cursor (``Orchestrator/importLegacyBuilds(_:table:lastRowID:)``), so a second run imports nothing
/// twice and a run killed at any point resumes after the last committed page. A build's files are written to the
/// store before its row: a kill in between leaves blobs that the re-run overwrites with the same bytes.
///
/// The old database is opened read-only and immutable, and the old storage folder is only read; plaintext certs
/// are read into memory (never to disk) and only for builds that are not finished.
public struct LegacyImporter: Sendable {
    public struct Configuration: Sendable {
        /// Rows of builds per page; each page's files are copied before its transaction. Defaults to 100.
        public static let buildPageSizeDefault = 100
        /// Rows of logs and CPU snapshots per page (one multi-row insert each). Defaults to 10,000.
        public static let rowPageSizeDefault = 10_000
        /// Builds whose files are copied at once (each copy mostly waits for fsync). Defaults to 8.
        public static let fileConcurrencyDefault = 8

        public var sqlitePath: String
        public var storagePath: String
        /// Read and check everything, write nothing (not even the migrations).
        public var dryRun = false
        /// The vault's grace for certs of failed and cancelled builds (`CERTS_GRACE_SECONDS`).
        public var certsGrace: Duration
        public var buildPageSize = buildPageSizeDefault
        public var rowPageSize = rowPageSizeDefault
        public var fileConcurrency = fileConcurrencyDefault
        public var threadPool: NIOThreadPool = .singleton

        public init(sqlitePath: String, storagePath: String, certsGrace: Duration) {
            self.sqlitePath = sqlitePath
            self.storagePath = storagePath
            self.certsGrace = certsGrace
        }
    }

    /// What the importer tells its caller while it runs.
    public enum Event: Sendable {
        /// `done` of `total` rows of `table` handled by this run.
        case progress(table: LegacyTable, done: Int64, total: Int64)
        /// New tokens to hand to the operator now: once this returns they count as delivered, and a re-run
        /// keeps them. (A run killed before that replaces them.)
        case tokensIssued([ImportReport.IssuedToken])
    }

    public let configuration: Configuration
    let orchestrator: Orchestrator
    /// `nil` only for a dry run, which writes nothing and so needs neither.
    let store: ArtifactStore?
    let vault: CertVault?
    let logger: Logger
    let events: @Sendable (Event) -> Void

    public init(
        configuration: Configuration, orchestrator: Orchestrator, store: ArtifactStore?, vault: CertVault?, logger: Logger,
        events: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.orchestrator = orchestrator
        self.store = store
        self.vault = vault
        self.logger = logger
        self.events = events
    }

    /// Runs the import (or the dry run) to the end and returns its report. Row-level problems are in the
    /// report; a thrown error means the run stopped (re-run to resume).
    public func run() async throws -> ImportReport {
        let started = ContinuousClock.now
        var report = ImportReport(dryRun: configuration.dryRun)
        guard configuration.dryRun || (store != nil && vault != nil) else {
            preconditionFailure("a real import needs the store and the vault")
        }
        try checkStorageFolder()
        let database = try await LegacyDatabase.open(path: configuration.sqlitePath, threadPool: configuration.threadPool)
        report.variant = database.schema.variantName
        report.missingColumns = database.schema.missingColumns
        let fingerprint = try await database.fingerprint()
        var state = RunState()
        if configuration.dryRun {
            state.hasSchema = try await orchestrator.relationExists("legacy_import_cursors")
            state.hasControllerTables = try await orchestrator.relationExists("builds")
            if state.hasSchema, let stored = try await orchestrator.legacyImportFingerprint(), stored != fingerprint {
                throw LegacyImportError(.otherLegacyDatabase, "recorded: \(stored)")
            }
        } else {
            try await orchestrator.migrate()
            (state.hasSchema, state.hasControllerTables) = (true, true)
            let stored = try await orchestrator.beginLegacyImport(fingerprint: fingerprint)
            guard stored == fingerprint else { throw LegacyImportError(.otherLegacyDatabase, "recorded: \(stored)") }
            try await reissueUndeliveredTokens(&report)
        }
        state.cursors = state.hasSchema ? try await orchestrator.legacyImportCursors() : [:]

        try await importWorkers(database, &state, &report)
        try await importBuilds(database, &state, &report)
        try await importLogLines(database, &state, &report)
        try await importCPUSnapshots(database, &state, &report)
        try await importDiagnostics(database, &state, &report)
        if !configuration.dryRun {
            report.requeueNotesAppended = try await orchestrator.appendLegacyRequeueNotes()
            try await orchestrator.finishLegacyImport()
        }
        report.durationSeconds = (ContinuousClock.now - started).secondsDouble
        return report
    }

    /// What one run carries from table to table.
    struct RunState {
        var hasSchema = false
        /// The controller's own tables exist (a dry run against an empty database has none to compare with).
        var hasControllerTables = false
        var cursors: [String: Int64] = [:]
        /// Workers rejected by the mapping: builds that name them lose the reference.
        var rejectedWorkers = Set<String>()
        /// Builds not imported (rejected, or an id that exists here): a dry run counts their rows as skipped.
        var unimportedBuilds = Set<String>()
        var unimportedWorkers = Set<String>()

        func cursor(_ table: LegacyTable) -> Int64 { cursors[table.rawValue] ?? 0 }
    }

    private func checkStorageFolder() throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: configuration.storagePath, isDirectory: &isFolder), isFolder.boolValue,
            FileManager.default.isReadableFile(atPath: configuration.storagePath)
        else { throw LegacyImportError(.storageFolderUnreadable, "not a readable folder") }
    }

    /// A row's key for the report: its rowid, and its id when the first cell is a valid one.
    static func key(_ rowid: Int64, _ values: [SQLiteValue]) -> String {
        if case .text(let text) = values.first, text.utf8.count <= 64,
            text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }),
            !text.isEmpty
        {
            return "rowid \(rowid) \(text)"
        }
        return "rowid \(rowid)"
    }

    /// Pages through `table` from the run's cursor, calling `page` for each; counts and reports progress.
    func forEachPage(
        _ database: LegacyDatabase, _ table: LegacyTable, pageSize: Int, from cursor: Int64, _ report: inout ImportReport,
        _ page: ([(rowid: Int64, values: [SQLiteValue])], inout ImportReport) async throws -> Void
    ) async throws {
        // An absent table (an early variant) has no figures at all in the report, rather than zeros.
        guard database.schema.tables.contains(table) else { return }
        let total = try await database.count(table, after: cursor)
        let handled = try await database.count(table) - total
        report.figures(table) { $0.alreadyHandled = handled }
        guard total > 0 else { return }
        var done: Int64 = 0
        var rows = try await database.rows(table, after: cursor, limit: pageSize)
        events(.progress(table: table, done: 0, total: total))
        while let last = rows.last {
            // Read the next page while this one is written: SQLite and PostgreSQL work side by side.
            async let following = database.rows(table, after: last.rowid, limit: pageSize)
            try await page(rows, &report)
            done += Int64(rows.count)
            report.figures(table) { $0.read += Int64(rows.count) }
            events(.progress(table: table, done: done, total: total))
            rows = try await following
        }
    }
}

extension Duration {
    var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
