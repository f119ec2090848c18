import ArtifactStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Identifiers
import LegacyImport
import Orchestrator
import PostgresNIO
import Testing

@Suite(.serialized) struct VariantTests {
    @Test func preTokens_withRelativePaths_issuesTokensThatOpenTheirBuilds() async throws {
        try await LegacyFixture.with(variant: "pre-tokens", relativePaths: true) { fixture in
            try await ImportHarness.run { harness in
                let tokens = TokenLog()
                let report = try await harness.runImport(fixture, tokens: tokens)
                #expect(report.variant == "pre-tokens (no cpu_snapshots, diagnostics)")
                #expect(report.missingColumns == ["builds.access_token"])
                #expect(report.tables["builds"]?.imported == 40)
                #expect(report.tables["cpu_snapshots"] == nil && report.tables["diagnostics"] == nil)
                #expect(report.count(of: .tokenMissing) == 40)
                // Every build got a token, handed out once, in the report and through the event.
                #expect(report.tokensIssued == 40 && report.tokensKept == 0)
                #expect(tokens.all.count == 40 && tokens.all == report.issuedTokens)
                #expect(Set(tokens.all.map(\.buildID)).count == 40)
                // Relative paths ("storage/builds/<id>.zip", relative to the old working directory) are found.
                #expect(report.missingFileCount == 1)
                #expect(report.filesCopied > 40)
                for issued in tokens.all {
                    let token = try #require(SecretToken(presented: issued.accessToken))
                    #expect(try await harness.orchestrator.buildTokenMatches(build: issued.buildID, digest: token.digest.bytes) == true)
                }
                let (first, other) = (tokens.all[0], tokens.all[1])
                try await harness.http { client in
                    let own = try await client.get("/api/builds/\(first.buildID)/status", token: first.accessToken)
                    #expect(own.status == .ok)
                    let foreign = try await client.get("/api/builds/\(first.buildID)/status", token: other.accessToken)
                    #expect(foreign.status == .forbidden)
                }
                let delivered = try await harness.rows("SELECT count(*)::text FROM legacy_import_builds WHERE token_issued AND token_delivered")
                #expect(delivered == [["40"]])
            }
        }
    }

    @Test func missingFiles_areReported_andTheBuildIsImportedWithoutThem() async throws {
        try await LegacyFixture.with { fixture in
            func strings(_ row: [Any]) -> [String] { row.map { "\($0)" } }
            let pending = strings(try fixture.query("SELECT id, certs_path FROM builds WHERE status = 'pending' AND certs_path IS NOT NULL LIMIT 1")[0])
            let completed = strings(try fixture.query("SELECT id, result_path FROM builds WHERE status = 'completed' LIMIT 1")[0])
            let queued = strings(try fixture.query("SELECT id, source_path FROM builds WHERE status = 'pending' AND id <> '\(pending[0])' LIMIT 1")[0])
            try FileManager.default.removeItem(atPath: pending[1])
            try FileManager.default.removeItem(atPath: completed[1])
            try FileManager.default.removeItem(atPath: queued[1])
            try await ImportHarness.run { harness in
                let report = try await harness.runImport(fixture)
                #expect(report.tables["builds"]?.imported == 40)
                #expect(report.missingFileCount == 4)  // the fixture's own missing source, and these three
                let missing = Set(report.missingFiles.map { "\($0.buildID) \($0.kind.rawValue)" })
                #expect(missing.isSuperset(of: ["\(pending[0]) certs", "\(completed[0]) result", "\(queued[0]) source"]))

                let withoutCerts = try #require(try await harness.orchestrator.build(pending[0]))
                #expect(withoutCerts.status == .pending && withoutCerts.certsState == .none)
                let withoutResult = try #require(try await harness.orchestrator.build(completed[0]))
                #expect(withoutResult.status == .completed && !withoutResult.hasResult)
                // A queued build without its source could never run: failed, with a reason.
                let withoutSource = try #require(try await harness.orchestrator.build(queued[0]))
                #expect(withoutSource.status == .failed)
                #expect(withoutSource.errorMessage == "Source file missing when imported from the old controller")
                #expect(report.count(of: .pendingWithoutSource) == 1)
            }
        }
    }

    @Test func hostileRows_areSkippedWithReasons_andNeverStopTheImport() async throws {
        try await LegacyFixture.with(builds: 10) { fixture in
            let storage = fixture.storagePath
            try fixture.sqlite(
                """
                INSERT INTO workers VALUES ('bad worker id', 'x', 'idle', '{}', 1767225600000, 1767225600000, 0, 0);
                INSERT INTO workers VALUES ('w-json', 'x', 'idle', '{"a": [', 1767225600000, 1767225600000, 0, 0);
                INSERT INTO workers VALUES ('w-deep', 'x', 'idle', '\(String(repeating: "[", count: 100_000))', 1, 1, 0, 0);
                INSERT INTO builds VALUES ('../../etc', 'completed', 'ios', 'x', NULL, NULL, NULL, 1767225600000, NULL, 1767225600001, NULL, 'tok');
                INSERT INTO builds VALUES ('b-status', 'exploded', 'ios', 'x', NULL, NULL, NULL, 1767225600000, NULL, NULL, NULL, 'tok');
                INSERT INTO builds VALUES ('b-platform', 'pending', 'windows', 'x', NULL, NULL, NULL, 1767225600000, NULL, NULL, NULL, 'tok');
                INSERT INTO builds VALUES ('b-time', 'pending', 'ios', 'x', NULL, NULL, NULL, 'yesterday', NULL, NULL, NULL, 'tok');
                INSERT INTO builds VALUES ('b-escape', 'completed', 'ios', '/etc/passwd', NULL, '\(storage)/../controller.db', NULL,
                                           1767225600000, NULL, 1767225600001, NULL, 'not a token!');
                INSERT INTO build_logs (build_id, timestamp, level, message) VALUES ('b-escape', 1767225600000, 'shout', 'x');
                INSERT INTO build_logs (build_id, timestamp, level, message) VALUES ('b-escape', 1767225600000, 'info', 'nul' || char(0) || 'byte');
                INSERT INTO build_logs (build_id, timestamp, level, message) VALUES ('b-escape', -5, 'info', 'before 1970');
                INSERT INTO build_logs (build_id, timestamp, level, message) VALUES ('b-escape', 1767225600002, 'WARNING', 'kept');
                INSERT INTO cpu_snapshots (build_id, timestamp, cpu_percent, memory_mb) VALUES ('b-escape', 1767225600000, 5000, 1);
                """)
            try await ImportHarness.run { harness in
                let report = try await harness.runImport(fixture)
                #expect(report.skippedCount(.workers, reasonContaining: "id is not a valid id") == 1)
                #expect(report.skippedCount(.workers, reasonContaining: "capabilities is not valid JSON") == 2)
                #expect(report.skippedCount(.builds, reasonContaining: "id is not a valid id") == 1)
                #expect(report.skippedCount(.builds, reasonContaining: "status has an unknown value") == 1)
                #expect(report.skippedCount(.builds, reasonContaining: "platform has an unknown value") == 1)
                #expect(report.skippedCount(.builds, reasonContaining: "submitted_at has the wrong type") == 1)
                #expect(report.skippedCount(.buildLogs, reasonContaining: "level has an unknown value") == 1)
                #expect(report.skippedCount(.buildLogs, reasonContaining: "NUL") == 1)
                #expect(report.skippedCount(.buildLogs, reasonContaining: "not a plausible time") == 1)
                #expect(report.skippedCount(.cpuSnapshots, reasonContaining: "cpu_percent") == 1)
                #expect(report.tables["builds"]?.imported == 11)
                // Paths outside the storage folder are never read: reported missing, nothing copied.
                let escaped = try #require(try await harness.orchestrator.build("b-escape"))
                #expect(escaped.sourceSize == nil && escaped.resultSize == nil)
                #expect(report.missingFiles.filter { $0.buildID == "b-escape" }.count == 2)
                #expect(report.count(of: .tokenUnusable) == 1)
                let kept = try await harness.rows("SELECT level, message FROM build_logs WHERE build_id = 'b-escape'")
                #expect(kept == [["warn", "kept"]])
            }
        }
    }

    /// Fuzz/Regressions/legacyrow: a name starting with a combining character (U+030C) after the separator made
    /// a grapheme-wise prefix check place the file outside the storage folder.
    @Test func fileNameStartingWithACombiningCharacter_isFoundInsideTheStorageFolder() async throws {
        try await LegacyFixture.with(builds: 3) { fixture in
            let row = try fixture.query("SELECT id, source_path FROM builds WHERE status = 'completed' LIMIT 1")[0]
            let (id, path) = ("\(row[0])", "\(row[1])")
            // Right after the storage folder's separator, where the prefix check looks.
            let renamed = fixture.storagePath + "/\u{030C}weird.zip"
            try FileManager.default.moveItem(atPath: path, toPath: renamed)
            try fixture.sqlite("UPDATE builds SET source_path = '\u{030C}weird.zip' WHERE id = '\(id)'")
            try await ImportHarness.run { harness in
                let report = try await harness.runImport(fixture)
                #expect(!report.missingFiles.contains { $0.buildID == id })
                let record = try #require(try await harness.orchestrator.build(id))
                #expect(record.sourceSHA256 == sha256(of: renamed))
            }
        }
    }

    @Test func anotherOldDatabase_isRefused_ratherThanMerged() async throws {
        try await LegacyFixture.with(builds: 5, seed: 1) { first in
            try await LegacyFixture.with(builds: 5, seed: 2) { second in
                try await ImportHarness.run { harness in
                    _ = try await harness.runImport(first)
                    await #expect(throws: LegacyImportError.self) { _ = try await harness.runImport(second) }
                    await #expect(throws: LegacyImportError.self) { _ = try await harness.runImport(second, dryRun: true) }
                    #expect(try await harness.rows("SELECT count(*)::text FROM builds") == [["5"]])
                }
            }
        }
    }

    @Test func walDatabaseWithPendingChanges_isRefused() async throws {
        try await LegacyFixture.with(builds: 2) { fixture in
            // A WAL-mode file whose -wal still holds a change: immutable reading would miss it.
            try LegacyFixture.run(
                "/usr/bin/env",
                ["python3", "-c", """
                import sqlite3, sys, shutil
                d = sqlite3.connect(sys.argv[1]); d.execute('PRAGMA journal_mode=WAL'); d.execute('PRAGMA wal_autocheckpoint=0')
                d.execute("UPDATE workers SET name = 'changed'"); d.commit()
                shutil.copy(sys.argv[1] + '-wal', sys.argv[1] + '-wal.keep')
                d.close(); shutil.move(sys.argv[1] + '-wal.keep', sys.argv[1] + '-wal')
                """, fixture.databasePath])
            try await ImportHarness.run { harness in
                let error = await #expect(throws: LegacyImportError.self) { _ = try await harness.runImport(fixture) }
                #expect(error?.code == .uncheckpointedWAL)
            }
        }
    }
}
