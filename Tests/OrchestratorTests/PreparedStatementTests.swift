import Foundation
import Identifiers
import Logging
import Orchestrator
import PostgresNIO
import TestSupport
import Testing

/// The worker's hot path runs as named prepared statements. PostgreSQL may plan such a statement once for any
/// parameters (a generic plan: after five runs, when it looks no worse); a plan made without knowing, say, that the
/// platform filter is NULL must still filter exactly like one made for the values. These tests force generic plans
/// from the first run on a one-connection pool, and check that the plans in use really were generic.
@Suite struct PreparedStatementTests {
    @Test func claimAndFinish_withGenericPlans_filterAndGuardAsWithCustomOnes() async throws {
        try await OrchestratorFixture.run { fixture in
            try await withGenericPlans(fixture) { orchestrator in
                let android = try await fixture.submitBuild(platform: "android")
                let iosPlain = try await fixture.submitBuild(platform: "ios")
                let iosCerts = try await fixture.submitBuild(platform: "ios", withCerts: true)
                func poll(_ worker: String, platforms: [String]?, onlyIOSWithCerts: Bool) async throws -> AssignedJob? {
                    try await orchestrator.poll(
                        PollRequest(workerID: worker, platforms: platforms, onlyIOSWithCerts: onlyIOSWithCerts,
                                    otpDigest: SecretToken.generate().digest.bytes))
                }
                // Older generations: iOS with certs only, though the certs-less iOS build is older.
                let legacy = try await fixture.registerWorker()
                #expect(try await poll(legacy, platforms: nil, onlyIOSWithCerts: true)?.buildID == iosCerts)
                // The holder gets its build again, not a second one.
                #expect(try await poll(legacy, platforms: nil, onlyIOSWithCerts: false)?.buildID == iosCerts)
                // Strict platforms: an Android-only worker skips the older iOS build.
                let androidOnly = try await fixture.registerWorker()
                #expect(try await poll(androidOnly, platforms: ["android"], onlyIOSWithCerts: false)?.buildID == android)
                let anyPlatform = try await fixture.registerWorker()
                #expect(try await poll(anyPlatform, platforms: nil, onlyIOSWithCerts: false)?.buildID == iosPlain)
                #expect(try await poll(try await fixture.registerWorker(), platforms: nil, onlyIOSWithCerts: false) == nil)

                // The finishing statement, guarded by the holder: nobody else finishes it, the holder does once.
                #expect(try await orchestrator.failHeld(build: android, worker: anyPlatform, message: "not yours") == false)
                #expect(try await orchestrator.failHeld(build: android, worker: androidOnly, message: "boom"))
                #expect(try await orchestrator.failHeld(build: android, worker: androidOnly, message: "again") == false)
                let failed = try #require(try await orchestrator.build(android))
                #expect(failed.status == .failed)
                #expect(failed.errorMessage == "boom")
                // Guarded by the attempt: a wrong attempt is refused, the right one completes with its result.
                await #expect(throws: OrchestratorError.self) {
                    try await orchestrator.complete(build: iosPlain, attempt: 2) { ResultFile(size: 1, sha256: "x") }
                }
                try await orchestrator.complete(build: iosPlain, attempt: 1) {
                    ResultFile(size: 42, sha256: String(repeating: "a", count: 64))
                }
                let completed = try #require(try await orchestrator.build(iosPlain))
                #expect(completed.status == .completed)
                #expect(try await orchestrator.worker(anyPlatform)?.buildsCompleted == 1)
                #expect(try await orchestrator.worker(androidOnly)?.buildsFailed == 1)
            }
        }
    }

    @Test func tokenLookups_withGenericPlans_findOnlyTheirDigest() async throws {
        try await OrchestratorFixture.run { fixture in
            try await withGenericPlans(fixture) { orchestrator in
                let token = SecretToken.generate()
                let worker = try await orchestrator.register(
                    Registration(proposedID: nil, name: "w", capabilitiesJSON: "{}", activeBuildCount: nil,
                                 tokenDigest: token.digest.bytes)
                ).workerID
                for _ in 0..<3 {
                    #expect(try await orchestrator.workerToken(digest: token.digest.bytes)?.workerID == worker)
                    #expect(try await orchestrator.workerToken(digest: SecretToken.generate().digest.bytes) == nil)
                    #expect(try await orchestrator.vmToken(digest: token.digest.bytes) == nil)
                }
            }
        }
    }

    /// Runs `body` with an Orchestrator on the fixture's schema whose one connection plans every prepared statement
    /// generically; afterwards checks on that connection that generic plans were used.
    private func withGenericPlans(
        _ fixture: OrchestratorFixture, _ body: (Orchestrator) async throws -> Void
    ) async throws {
        var configuration = fixture.database.configuration
        configuration.options.additionalStartupParameters.append(("plan_cache_mode", "force_generic_plan"))
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 1
        try await TestDatabase.withClient(configuration, logger: Logger(label: "generic")) { client in
            let orchestrator = Orchestrator(client: client, configuration: fixture.orchestrator.configuration,
                                            logger: Logger(label: "generic"))
            try await body(orchestrator)
            let rows = try await client.query(
                "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'fac\\_%'")
            var plans: [String: (generic: Int, custom: Int)] = [:]
            for try await (name, generic, custom) in rows.decode((String, Int, Int).self) { plans[name] = (generic, custom) }
            #expect(!plans.isEmpty)
            for (name, counts) in plans {
                #expect(counts.generic > 0, "\(name) ran with a generic plan")
                #expect(counts.custom == 0, "\(name) never ran with a custom plan")
            }
        }
    }
}
