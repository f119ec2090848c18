import ArtifactStore
import Foundation
import Identifiers
import LegacyImport
import Orchestrator
import PostgresNIO
import Testing

/// The built executable, SIGKILLed half-way through the files and again half-way through the logs, then run
/// to the end, must leave the same database and store as one clean run.
@Suite(.serialized) struct KillResumeTests {
    static let builds = 300

    @Test func killedTwiceAndRerun_endsExactlyLikeOneCleanRun() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CommandRunner.executable), "run swift build first")
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try await LegacyFixture.with(builds: Self.builds, logsPerBuild: 200) { fixture in
            let before = try fixture.snapshot()
            let totalLogs = Int64(try fixture.query("SELECT max(id) FROM build_logs")[0][0] as! Int)
            try await ScratchDatabase.with { killedDB in
                try await ScratchDatabase.with { cleanDB in
                    let killedStore = temporaryFolder(), cleanStore = temporaryFolder()
                    defer {
                        try? FileManager.default.removeItem(atPath: killedStore)
                        try? FileManager.default.removeItem(atPath: cleanStore)
                    }
                    let interrupted = CommandRunner(database: killedDB, storeRoot: killedStore, vaultKey: key)
                    // 1. Killed while copying files: at least one page of builds committed, not all.
                    let first = try await interrupted.run(fixture) { client in
                        let cursor = try await legacyCursor(client, "builds")
                        return cursor > 0 && cursor < Int64(Self.builds)
                    }
                    #expect(first.killed, "the first run finished before it could be killed")
                    // 2. Killed while appending log lines.
                    let second = try await interrupted.run(fixture) { client in
                        let cursor = try await legacyCursor(client, "build_logs")
                        return cursor > 0 && cursor < totalLogs / 2
                    }
                    #expect(second.killed, "the second run finished before it could be killed")
                    let resumedBuildLogs = try await killedDB.withClient { try await legacyCursor($0, "build_logs") }
                    #expect(resumedBuildLogs > 0 && resumedBuildLogs < totalLogs)
                    // 3. To the end.
                    let third = try await interrupted.run(fixture)
                    #expect(third.exitStatus == 0, "\(third.stderr)")
                    #expect(third.stdout.contains("build_logs: read \(totalLogs - resumedBuildLogs)"))
                    #expect(third.stderr.contains("build_logs: "))  // progress on stderr

                    let clean = try await CommandRunner(database: cleanDB, storeRoot: cleanStore, vaultKey: key).run(fixture)
                    #expect(clean.exitStatus == 0, "\(clean.stderr)")
                    let resumed = try await killedDB.withClient { try await Dump.of($0) }
                    let once = try await cleanDB.withClient { try await Dump.of($0) }
                    for table in once.keys.sorted() {
                        #expect(resumed[table] == once[table], "\(table) differs")
                    }
                    #expect(once["builds"]?.count == Self.builds)
                    #expect((once["build_logs"]?.count ?? 0) >= Int(totalLogs) - 1)
                    // Every blob the resumed database points at is there with its checksum.
                    let store = try ArtifactStore(configuration: .init(root: killedStore))
                    let files = try await killedDB.withClient { client in
                        try await ImportHarness.rows(client, "SELECT id, source_sha256 FROM builds WHERE source_sha256 IS NOT NULL")
                    }
                    for file in files {
                        let bytes = try await store.readAll(BlobKey(build: BuildID(file[0])!, kind: .source), maxBytes: 1 << 20)
                        #expect(sha256(bytes) == file[1])
                    }
                    #expect(try fixture.snapshot() == before)
                }
            }
        }
    }

    @Test func killedAfterTokensWereIssued_everyBuildEndsWithExactlyOneWorkingToken() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CommandRunner.executable), "run swift build first")
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try await LegacyFixture.with(builds: Self.builds, logsPerBuild: 3, variant: "pre-tokens") { fixture in
            try await ScratchDatabase.with { database in
                let storeRoot = temporaryFolder()
                defer { try? FileManager.default.removeItem(atPath: storeRoot) }
                let runner = CommandRunner(database: database, storeRoot: storeRoot, vaultKey: key)
                let first = try await runner.run(fixture) { client in
                    let cursor = try await legacyCursor(client, "builds")
                    return cursor > 0 && cursor < Int64(Self.builds)
                }
                #expect(first.killed)
                let reportPath = storeRoot + "/report.json"
                let second = try await runner.run(fixture, arguments: ["--report", reportPath])
                #expect(second.exitStatus == 0, "\(second.stderr)")
                // The JSON report holds the tokens of this run, and only its owner can read it.
                let attributes = try FileManager.default.attributesOfItem(atPath: reportPath)
                #expect((attributes[.posixPermissions] as? Int) == 0o600)
                let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: reportPath))) as? [String: Any]
                #expect((json?["issued_tokens"] as? [Any])?.count == second.issuedTokens.count)
                // The last token printed for a build is its token; each build has one.
                var latest: [String: String] = [:]
                for (id, token) in first.issuedTokens + second.issuedTokens { latest[id] = token }
                #expect(latest.count == Self.builds)
                try await database.withClient { client in
                    for (id, token) in latest {
                        let rows = try await ImportHarness.rows(
                            client, "SELECT encode(access_token_digest, 'hex') FROM builds WHERE id = \(id)")
                        #expect(rows.first?.first == sha256(Array(token.utf8)), "build \(id)")
                    }
                    let undelivered = try await ImportHarness.rows(
                        client, "SELECT count(*)::text FROM legacy_import_builds WHERE NOT token_delivered")
                    #expect(undelivered == [["0"]])
                }
            }
        }
    }
}

func temporaryFolder() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fac-store-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func sha256(_ bytes: [UInt8]) -> String {
    SHA256Hex.of(bytes)
}
