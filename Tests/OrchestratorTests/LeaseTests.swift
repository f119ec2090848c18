import Foundation
import Identifiers
import Orchestrator
import TestSupport
import Testing

@Suite struct LeaseTests {
    @Test func lapsedLease_requeuesTheBuild_andTheOldAttemptIsRefused() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            let worker = try await fixture.registerWorker()
            let job = try #require(try await fixture.poll(worker))
            let result = try await fixture.orchestrator.sweep(now: Date().addingTimeInterval(3600))
            #expect(result.requeued == 1)
            let record = try #require(try await fixture.orchestrator.build(build))
            #expect(record.status == .pending)
            #expect(record.workerID == nil)
            let logs = try await fixture.orchestrator.logs(build: build, after: nil)
            #expect(logs.contains { $0.message.contains("Lease expired") && $0.message.contains("re-queued") })
            // The old attempt can no longer report anything.
            await #expect(throws: OrchestratorError.self) {
                try await fixture.orchestrator.heartbeat(build: build, attempt: job.attempt)
            }
            // A new claim is attempt 2, and attempt 1 stays refused.
            let next = try #require(try await fixture.poll(try await fixture.registerWorker()))
            #expect(next.attempt == 2)
            do {
                try await fixture.orchestrator.fail(build: build, attempt: 1, message: "late")
                Issue.record("a stale attempt changed the build")
            } catch let error as OrchestratorError {
                #expect(error.code == .staleAttempt)
            }
            #expect(try await fixture.orchestrator.build(build)?.status == .assigned)
        }
    }

    @Test func lapsedLease_onTheLastAttempt_failsTheBuild() async throws {
        try await OrchestratorFixture.run(configure: { $0.maxAttempts = 2 }) { fixture in
            let build = try await fixture.submitBuild()
            for _ in 0..<2 {
                _ = try #require(try await fixture.poll(try await fixture.registerWorker()))
                _ = try await fixture.orchestrator.sweep(now: Date().addingTimeInterval(3600))
            }
            let record = try #require(try await fixture.orchestrator.build(build))
            #expect(record.status == .failed)
            #expect(record.errorMessage?.contains("attempt 2 of 2") == true)
        }
    }

    @Test func heartbeat_renewsTheLease_soTheSweeperLeavesTheBuild() async throws {
        try await OrchestratorFixture.run(configure: { $0.buildHeartbeatTimeout = .seconds(600); $0.sweepInterval = .seconds(1) }) { fixture in
            let build = try await fixture.submitBuild()
            let job = try #require(try await fixture.poll(try await fixture.registerWorker()))
            try await fixture.orchestrator.heartbeat(build: build, attempt: job.attempt, progress: 40)
            let record = try #require(try await fixture.orchestrator.build(build))
            #expect(record.status == .building)
            let result = try await fixture.orchestrator.sweep(now: Date().addingTimeInterval(300))
            #expect(result == SweepResult())
            let logs = try await fixture.orchestrator.logs(build: build, after: nil)
            #expect(logs.contains { $0.message == "Build progress: 40%" })
        }
    }

    @Test func assignmentLease_isLongUntilTheFirstHeartbeat_thenShort() async throws {
        try await OrchestratorFixture.run(configure: {
            $0.assignmentLease = .seconds(1800)
            $0.buildHeartbeatTimeout = .seconds(60)
            $0.sweepInterval = .seconds(5)
        }) { fixture in
            let build = try await fixture.submitBuild()
            let job = try #require(try await fixture.poll(try await fixture.registerWorker()))
            // Ten minutes without a call: a fresh assignment survives (the worker is cloning its VM).
            #expect(try await fixture.orchestrator.sweep(now: Date().addingTimeInterval(600)) == SweepResult())
            try await fixture.orchestrator.heartbeat(build: build, attempt: job.attempt)
            // After the first heartbeat the lease is the heartbeat timeout.
            #expect(try await fixture.orchestrator.sweep(now: Date().addingTimeInterval(120)).requeued == 1)
        }
    }

    @Test func maxBuildDuration_failsARunawayBuildEvenWithHeartbeats() async throws {
        try await OrchestratorFixture.run(configure: { $0.maxBuildDuration = .seconds(3600) }) { fixture in
            let build = try await fixture.submitBuild()
            let job = try #require(try await fixture.poll(try await fixture.registerWorker()))
            try await fixture.orchestrator.heartbeat(build: build, attempt: job.attempt)
            let result = try await fixture.orchestrator.sweep(now: Date().addingTimeInterval(7200))
            #expect(result.failedOverDuration == 1)
            #expect(try await fixture.orchestrator.build(build)?.status == .failed)
        }
    }

    @Test func finishedBuild_neverChangesAgain() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            let job = try #require(try await fixture.poll(try await fixture.registerWorker()))
            try await fixture.orchestrator.complete(build: build, attempt: job.attempt) {
                ResultFile(size: 3, sha256: String(repeating: "a", count: 64))
            }
            do {
                try await fixture.orchestrator.fail(build: build, attempt: job.attempt, message: "late failure")
                Issue.record("a late failure overwrote a completed build")
            } catch let error as OrchestratorError {
                #expect(error.code == .buildFinished)
            }
            await #expect(throws: OrchestratorError.self) { try await fixture.orchestrator.cancel(build) }
            let record = try #require(try await fixture.orchestrator.build(build))
            #expect(record.status == .completed)
            #expect(record.errorMessage == nil)
        }
    }

    @Test func cancel_releasesTheWorker_andItsNextCallIsTold() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            let worker = try await fixture.registerWorker()
            let job = try #require(try await fixture.poll(worker))
            try await fixture.orchestrator.cancel(build)
            do {
                try await fixture.orchestrator.heartbeat(build: build, attempt: job.attempt)
                Issue.record("heartbeat accepted for a cancelled build")
            } catch let error as OrchestratorError {
                #expect(error.code == .buildCancelled)
            }
            #expect(try await fixture.orchestrator.worker(worker)?.status == "idle")
        }
    }

    @Test func reRegistration_withNoActiveBuild_givesTheBuildBack() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            let worker = try await fixture.registerWorker()
            _ = try #require(try await fixture.poll(worker))
            let keep = try await fixture.orchestrator.register(
                Registration(proposedID: worker, name: "w", capabilitiesJSON: "{}", activeBuildCount: 1,
                             tokenDigest: SecretToken.generate().digest.bytes))
            #expect(keep.buildsRequeued == 0)
            #expect(keep.isNew == false)
            let result = try await fixture.orchestrator.register(
                Registration(proposedID: worker, name: "w", capabilitiesJSON: "{}", activeBuildCount: 0,
                             tokenDigest: SecretToken.generate().digest.bytes))
            #expect(result.buildsRequeued == 1)
            #expect(try await fixture.orchestrator.build(build)?.status == .pending)
        }
    }

    @Test func unregister_requeuesHeldBuilds_andTakesTheWorkerOffline() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            let worker = try await fixture.registerWorker()
            _ = try #require(try await fixture.poll(worker))
            #expect(try await fixture.orchestrator.unregister(worker: worker) == 1)
            #expect(try await fixture.orchestrator.build(build)?.status == .pending)
            #expect(try await fixture.orchestrator.worker(worker)?.status == "offline")
        }
    }
}
