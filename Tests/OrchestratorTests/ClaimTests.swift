import Foundation
import Identifiers
import Logging
import Orchestrator
import PostgresNIO
import TestSupport
import Testing

@Suite struct ClaimTests {
    @Test func claim_whenTwentyWorkersRaceForTenBuilds_eachBuildGoesToExactlyOneWorker() async throws {
        try await OrchestratorFixture.run { fixture in
            var builds: Set<String> = []
            for _ in 0..<10 { builds.insert(try await fixture.submitBuild()) }
            var workers: [String] = []
            for _ in 0..<20 { workers.append(try await fixture.registerWorker()) }
            let jobs = try await withThrowingTaskGroup(of: String?.self) { group in
                for worker in workers { group.addTask { try await fixture.poll(worker)?.buildID } }
                var jobs: [String?] = []
                for try await job in group { jobs.append(job) }
                return jobs
            }
            let assigned = jobs.compactMap { $0 }
            #expect(assigned.count == 10)
            #expect(jobs.filter { $0 == nil }.count == 10)
            #expect(Set(assigned) == builds)
        }
    }

    @Test func claim_acrossTwoClients_standingInForTwoProcesses_neverAssignsTwice() async throws {
        try await OrchestratorFixture.run { fixture in
            for _ in 0..<10 { try await fixture.submitBuild() }
            var workers: [String] = []
            for _ in 0..<20 { workers.append(try await fixture.registerWorker()) }
            let second = try await TestDatabase.withClient(fixture.database.configuration, logger: Logger(label: "second")) { client in
                let other = Orchestrator(client: client, configuration: fixture.orchestrator.configuration, logger: Logger(label: "p2"))
                return try await withThrowingTaskGroup(of: String?.self) { group in
                    for (index, worker) in workers.enumerated() {
                        let orchestrator = index.isMultiple(of: 2) ? fixture.orchestrator : other
                        group.addTask {
                            try await orchestrator.poll(
                                PollRequest(workerID: worker, platforms: nil, onlyIOSWithCerts: false,
                                            otpDigest: SecretToken.generate().digest.bytes))?.buildID
                        }
                    }
                    var jobs: [String] = []
                    for try await job in group { if let job { jobs.append(job) } }
                    return jobs
                }
            }
            #expect(second.count == 10)
            #expect(Set(second).count == 10)
        }
    }

    @Test func claim_givesOldestFirst_andTheSameJobAgainToItsHolder() async throws {
        try await OrchestratorFixture.run { fixture in
            let first = try await fixture.submitBuild()
            let second = try await fixture.submitBuild()
            let worker = try await fixture.registerWorker()
            #expect(try await fixture.poll(worker)?.buildID == first)
            let again = try await fixture.poll(worker)
            #expect(again?.buildID == first)
            #expect(again?.attempt == 1)
            let other = try await fixture.registerWorker()
            #expect(try await fixture.poll(other)?.buildID == second)
        }
    }

    @Test func claim_neverHandsOutACancelledBuild() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            try await fixture.orchestrator.cancel(build)
            let worker = try await fixture.registerWorker()
            #expect(try await fixture.poll(worker) == nil)
        }
    }

    @Test func claim_withStrictPlatforms_filters_andOlderGenerationsGetOnlyIOSWithCerts() async throws {
        try await OrchestratorFixture.run { fixture in
            let android = try await fixture.submitBuild(platform: "android")
            let iosPlain = try await fixture.submitBuild(platform: "ios")
            let iosCerts = try await fixture.submitBuild(platform: "ios", withCerts: true)
            let worker = try await fixture.registerWorker()
            let legacy = try await fixture.orchestrator.poll(
                PollRequest(workerID: worker, platforms: nil, onlyIOSWithCerts: true, otpDigest: SecretToken.generate().digest.bytes))
            #expect(legacy?.buildID == iosCerts)
            let other = try await fixture.registerWorker()
            let strictIOS = try await fixture.orchestrator.poll(
                PollRequest(workerID: other, platforms: ["ios"], onlyIOSWithCerts: false, otpDigest: SecretToken.generate().digest.bytes))
            #expect(strictIOS?.buildID == iosPlain)
            let third = try await fixture.registerWorker()
            #expect(try await fixture.poll(third)?.buildID == android)
        }
    }

    @Test func claim_forUnknownWorker_throwsWorkerNotFound() async throws {
        try await OrchestratorFixture.run { fixture in
            await #expect(throws: OrchestratorError.self) { try await fixture.poll("no-such-worker") }
        }
    }

    @Test func restart_buildsQueuedBeforeAreAssignedAfter() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            // A new client and Orchestrator: nothing in the first one's memory is needed.
            let job = try await TestDatabase.withClient(fixture.database.configuration, logger: Logger(label: "restart")) { client in
                let restarted = Orchestrator(client: client, configuration: fixture.orchestrator.configuration, logger: Logger(label: "r"))
                try await restarted.migrate()
                let worker = try await fixture.registerWorker()
                return try await restarted.poll(
                    PollRequest(workerID: worker, platforms: nil, onlyIOSWithCerts: false, otpDigest: SecretToken.generate().digest.bytes))
            }
            #expect(job?.buildID == build)
        }
    }

    @Test func migrate_twiceAndConcurrently_appliesEachVersionOnce() async throws {
        try await OrchestratorFixture.run { fixture in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await fixture.orchestrator.migrate() } }
                try await group.waitForAll()
            }
            // Every version of Migrations.all, each once (a second apply would have failed on the primary key).
            #expect(try await fixture.orchestrator.appliedMigrations() == [1, 2, 3])
        }
    }
}
