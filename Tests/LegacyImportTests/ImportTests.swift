import ArtifactStore
import CertVault
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Identifiers
import LegacyImport
import NIOCore
import Orchestrator
import PostgresNIO
import TestSupport
import Testing

@Suite(.serialized) struct ImportTests {
    @Test func import_currentVariant_keepsIdsAndCountsEveryTable() async throws {
        try await LegacyFixture.with { fixture in
            try await ImportHarness.run { harness in
                let report = try await harness.runImport(fixture)
                #expect(report.variant == "current")
                #expect(report.tables["workers"]?.imported == 4)
                #expect(report.tables["builds"]?.imported == 40)
                #expect(report.tables["build_logs"]?.read == 513)
                #expect(report.tables["build_logs"]?.imported == 512)
                #expect(report.tables["cpu_snapshots"]?.imported == 108)
                #expect(report.tables["diagnostics"]?.imported == 4)
                // The fixture's awkward rows: one orphan of each kind, reported with the row's key.
                #expect(report.skippedCount(.buildLogs, reasonContaining: "orphan") == 1)
                #expect(report.skippedCount(.cpuSnapshots, reasonContaining: "orphan") == 1)
                #expect(report.skippedCount(.diagnostics, reasonContaining: "orphan") == 1)
                #expect(report.count(of: .danglingWorker) == 1)
                #expect(report.count(of: .cancelledStoredAsFailed) == 4)
                #expect(report.count(of: .inFlightRequeued) == 4)
                #expect(report.missingFileCount == 1)
                #expect(report.missingFiles.first?.kind == .source)
                #expect(report.tokensKept == 40 && report.issuedTokens.isEmpty)
                #expect(report.checksumsVerified == report.filesCopied && report.filesCopied > 0)

                let legacyIDs = try fixture.query("SELECT id FROM builds ORDER BY id").map { $0[0] as! String }
                let importedIDs = try await harness.rows("SELECT id FROM builds ORDER BY id COLLATE \"C\"").map { $0[0] }
                #expect(importedIDs == legacyIDs.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
                let workerIDs = try fixture.query("SELECT id FROM workers ORDER BY id").map { $0[0] as! String }
                let importedWorkers = try await harness.rows("SELECT id FROM workers").map { $0[0] }
                #expect(Set(importedWorkers) == Set(workerIDs))
            }
        }
    }

    @Test func import_logs_keepTheirOrderLevelsAndMilliseconds() async throws {
        try await LegacyFixture.with { fixture in
            try await ImportHarness.run { harness in
                _ = try await harness.runImport(fixture)
                let legacy = try fixture.query(
                    """
                    SELECT l.build_id, l.timestamp, l.level, l.message FROM build_logs l JOIN builds b ON b.id = l.build_id
                    ORDER BY l.build_id, l.id
                    """
                ).map { "\($0[0]) \($0[1]) \($0[2]) \($0[3])" }
                let imported = try await harness.rows(
                    """
                    SELECT build_id, ((extract(epoch FROM logged_at) * 1000)::bigint)::text, level, message FROM build_logs
                    WHERE message NOT LIKE 'Re-queued by import-legacy%' ORDER BY build_id, seq
                    """
                ).map { $0.joined(separator: " ") }
                #expect(imported.count == legacy.count)
                #expect(imported == legacy)
                #expect(imported.contains { $0.contains(" debug ") })
            }
        }
    }

    @Test func import_legacyToken_opensItsBuildThroughTheGateway() async throws {
        try await LegacyFixture.with { fixture in
            try await ImportHarness.run { harness in
                _ = try await harness.runImport(fixture)
                let row = try fixture.query(
                    "SELECT id, access_token, result_path FROM builds WHERE status = 'completed' ORDER BY id LIMIT 1")[0]
                let (id, token, resultPath) = (row[0] as! String, row[1] as! String, row[2] as! String)
                let stored = try await harness.rows("SELECT access_token_digest FROM builds WHERE id = \(id)")
                #expect(!stored[0][0].contains(token))  // only the digest is at rest
                try await harness.http { client in
                    let status = try await client.get("/api/builds/\(id)/status", token: token)
                    #expect(status.status == .ok)
                    #expect(status.json["status"] as? String == "completed")
                    let wrong = try await client.get("/api/builds/\(id)/status", token: String(token.reversed()))
                    #expect(wrong.status == .forbidden)
                    let download = try await client.get("/api/builds/\(id)/download", token: token)
                    #expect(download.status == .ok)
                    #expect(Array(download.body.readableBytesView) == Array(FileManager.default.contents(atPath: resultPath)!))
                    let logs = try await client.get("/api/builds/\(id)/logs", token: token)
                    let lines = (logs.json["logs"] as? [[String: Any]]) ?? []
                    let legacy = try fixture.query("SELECT timestamp, message FROM build_logs WHERE build_id = '\(id)' ORDER BY id")
                    #expect(lines.map { $0["timestamp"] as? Int } == legacy.map { $0[0] as? Int })
                    #expect(lines.map { $0["message"] as? String } == legacy.map { $0[1] as? String })
                }
            }
        }
    }

    @Test func import_quirks_mapToTheDocumentedStatuses() async throws {
        try await LegacyFixture.with { fixture in
            try await ImportHarness.run { harness in
                _ = try await harness.runImport(fixture)
                // Cancelled stored as failed → cancelled, message kept.
                let cancelled = try fixture.query("SELECT id FROM builds WHERE error_message = 'Build cancelled by user'")
                for row in cancelled {
                    let record = try #require(try await harness.orchestrator.build(row[0] as! String))
                    #expect(record.status == .cancelled)
                    #expect(record.errorMessage == "Build cancelled by user")
                }
                // Mid-flight → pending, no holder, a warn line after the legacy lines.
                let inFlight = try fixture.query("SELECT id FROM builds WHERE status = 'assigned'")
                #expect(inFlight.count == 4)
                for row in inFlight {
                    let id = row[0] as! String
                    let record = try #require(try await harness.orchestrator.build(id))
                    #expect(record.status == .pending && record.workerID == nil && record.startedAt == nil)
                    let last = try await harness.rows("SELECT level, message FROM build_logs WHERE build_id = \(id) ORDER BY seq DESC LIMIT 1")
                    #expect(last.first?[0] == "warn")
                    #expect(last.first?[1].hasPrefix("Re-queued by import-legacy: the build was assigned") == true)
                }
                // The build that named a removed worker keeps its row, without the reference.
                let dangling = try fixture.query(
                    "SELECT id FROM builds WHERE worker_id IS NOT NULL AND worker_id NOT IN (SELECT id FROM workers)")
                let danglingRecord = try #require(try await harness.orchestrator.build(dangling[0][0] as! String))
                #expect(danglingRecord.workerID == nil)
            }
        }
    }

    @Test func import_certs_sealedForUnfinishedBuilds_destroyedWithTombstoneForFinished() async throws {
        try await LegacyFixture.with { fixture in
            try await ImportHarness.run { harness in
                let report = try await harness.runImport(fixture)
                let withCerts = try fixture.query("SELECT id, status, certs_path FROM builds WHERE certs_path IS NOT NULL")
                var sealed = 0
                for row in withCerts {
                    let (id, status, path) = (row[0] as! String, row[1] as! String, row[2] as! String)
                    let record = try #require(try await harness.orchestrator.build(id))
                    let events = try await harness.orchestrator.vaultEvents(build: id)
                    if ["pending", "assigned", "building"].contains(status) {
                        #expect(record.certsState == .sealed)
                        let key = WrappedDataKey(keyVersion: try #require(record.certsKeyVersion), bytes: try #require(record.certsWrappedKey))
                        let opened = try await harness.vault.open(for: BuildID(id)!, wrappedKey: key)
                        #expect(opened == Array(FileManager.default.contents(atPath: path)!))
                        #expect(events.map(\.event) == ["sealed"])
                        sealed += 1
                    } else {
                        // Finished long ago: never read, tombstoned with a reason and an audit event.
                        #expect(record.certsState == .destroyed)
                        #expect(record.certsDestroyedAt != nil)
                        #expect(record.certsDestroyReason?.isEmpty == false)
                        #expect(events.map(\.event) == ["destroyed"])
                        #expect(try await harness.store.size(of: BlobKey(build: BuildID(id)!, kind: .certs)) == nil)
                    }
                }
                #expect(sealed > 0 && report.certsSealed == sealed)
                #expect(report.certsDestroyed == withCerts.count - sealed)
                // No plaintext bundle anywhere in the new store: every certs blob is an envelope ("FACV").
                let certsFolder = harness.storeRoot + "/certs"
                for case let file as String in FileManager.default.enumerator(atPath: certsFolder) ?? .init() {
                    let path = certsFolder + "/" + file
                    var isFolder: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
                    #expect(FileManager.default.contents(atPath: path)?.prefix(4) == Data("FACV".utf8))
                }
            }
        }
    }

    @Test func import_files_areCopiedThroughTheStoreWithTheirChecksums() async throws {
        try await LegacyFixture.with { fixture in
            try await ImportHarness.run { harness in
                _ = try await harness.runImport(fixture)
                for row in try fixture.query("SELECT id, source_path FROM builds") {
                    let (id, path) = (row[0] as! String, row[1] as! String)
                    let record = try #require(try await harness.orchestrator.build(id))
                    if FileManager.default.fileExists(atPath: path) {
                        #expect(record.sourceSHA256 == sha256(of: path))
                        let copy = try await harness.store.readAll(BlobKey(build: BuildID(id)!, kind: .source), maxBytes: 1 << 20)
                        #expect(copy == Array(FileManager.default.contents(atPath: path)!))
                    } else {
                        #expect(record.sourceSize == nil && !record.hasSource)
                    }
                }
            }
        }
    }

    @Test func import_twice_importsNothingTwice_andNeverChangesTheOldFolder() async throws {
        try await LegacyFixture.with { fixture in
            try await ImportHarness.run { harness in
                let before = try fixture.snapshot()
                _ = try await harness.runImport(fixture)
                let first = try await Dump.of(harness.client)
                let again = try await harness.runImport(fixture)
                #expect(again.tables.values.allSatisfy { $0.read == 0 && $0.imported == 0 })
                #expect(again.tables["build_logs"]?.alreadyHandled == 513)
                #expect(again.filesCopied == 0 && again.issuedTokens.isEmpty)
                #expect(try await Dump.of(harness.client) == first)
                // Byte-for-byte the same files, and no -journal, -wal or -shm left beside the database.
                #expect(try fixture.snapshot() == before)
            }
        }
    }

    @Test func dryRun_writesNothing_andReportsWhatTheRealRunDoes() async throws {
        try await LegacyFixture.with { fixture in
            try await ImportHarness.run { harness in
                let dry = try await harness.runImport(fixture, dryRun: true)
                #expect(dry.dryRun)
                for table in ["builds", "workers", "build_logs", "cpu_snapshots", "diagnostics", "legacy_import", "legacy_import_cursors", "vault_events"] {
                    #expect(try await harness.rows("SELECT count(*)::text FROM \(unescaped: table)") == [["0"]])
                }
                let blobs = FileManager.default.enumerator(atPath: harness.storeRoot)?.allObjects.compactMap { $0 as? String }
                    .filter { !$0.hasPrefix(".") && $0.split(separator: "/").count > 2 } ?? []
                #expect(blobs.isEmpty)
                let real = try await harness.runImport(fixture)
                let realBlobs = FileManager.default.enumerator(atPath: harness.storeRoot)?.allObjects.compactMap { $0 as? String }
                    .filter { !$0.hasPrefix(".") && $0.split(separator: "/").count > 2 } ?? []
                #expect(!realBlobs.isEmpty)  // the check above can see blobs
                #expect(dry.tables == real.tables)
                #expect(dry.filesCopied == real.filesCopied && dry.bytesCopied == real.bytesCopied)
                #expect(dry.missingFiles == real.missingFiles)
                #expect(dry.certsSealed == real.certsSealed && dry.certsDestroyed == real.certsDestroyed)
            }
        }
    }
}

@Suite struct DryRunOnEmptyDatabaseTests {
    @Test func dryRun_onAnUnmigratedDatabase_createsNoTable() async throws {
        try await LegacyFixture.with { fixture in
            try await TestDatabase.withSchema { database, client in
                var configuration = LegacyImporter.Configuration(
                    sqlitePath: fixture.databasePath, storagePath: fixture.storagePath, certsGrace: .seconds(86_400))
                configuration.dryRun = true
                let orchestrator = Orchestrator(client: client, configuration: OrchestratorConfiguration(), logger: Logger(label: "dry"))
                let report = try await LegacyImporter(
                    configuration: configuration, orchestrator: orchestrator, store: nil, vault: nil, logger: Logger(label: "dry")
                ).run()
                #expect(report.tables["builds"]?.imported == 40)
                let tables = try await ImportHarness.rows(
                    client, "SELECT count(*)::text FROM information_schema.tables WHERE table_schema = \(database.schema)")
                #expect(tables == [["0"]])
            }
        }
    }
}

/// A comparable picture of everything an import writes (times in ms; the import's own notes without time).
enum Dump {
    static func of(_ client: PostgresClient) async throws -> [String: [[String]]] {
        let queries: [String: PostgresQuery] = [
            "workers": """
                SELECT id, name, capabilities::text, (extract(epoch FROM registered_at) * 1000)::bigint::text,
                       (extract(epoch FROM last_seen_at) * 1000)::bigint::text, offline::text, builds_completed::text,
                       builds_failed::text FROM workers ORDER BY id COLLATE "C"
                """,
            "builds": """
                SELECT id, status::text, platform, encode(access_token_digest, 'hex'),
                       (extract(epoch FROM submitted_at) * 1000)::bigint::text, (extract(epoch FROM started_at) * 1000)::bigint::text,
                       (extract(epoch FROM completed_at) * 1000)::bigint::text, error_message, worker_id, source_size::text,
                       source_sha256, result_size::text, result_sha256, certs_state, certs_destroy_reason
                FROM builds ORDER BY id COLLATE "C"
                """,
            "build_logs": """
                SELECT build_id, CASE WHEN message LIKE 'Re-queued by import-legacy%' THEN '-'
                       ELSE (extract(epoch FROM logged_at) * 1000)::bigint::text END, level, message
                FROM build_logs ORDER BY build_id COLLATE "C", seq
                """,
            "cpu_snapshots": """
                SELECT build_id, (extract(epoch FROM taken_at) * 1000)::bigint::text, cpu_percent::text, memory_mb::text
                FROM cpu_snapshots ORDER BY build_id COLLATE "C", seq
                """,
            "diagnostics": """
                SELECT id, worker_id, status, (extract(epoch FROM run_at) * 1000)::bigint::text, duration_ms::text,
                       auto_fixed::text, checks::text FROM diagnostics ORDER BY id
                """,
            "vault_events": "SELECT build_id, event, reason FROM vault_events ORDER BY build_id COLLATE \"C\", seq",
            "legacy_import_builds": """
                SELECT build_id, legacy_status, token_issued::text, token_delivered::text, requeue_note
                FROM legacy_import_builds ORDER BY build_id COLLATE "C"
                """,
        ]
        var dump: [String: [[String]]] = [:]
        for (name, query) in queries { dump[name] = try await ImportHarness.rows(client, query) }
        return dump
    }
}
