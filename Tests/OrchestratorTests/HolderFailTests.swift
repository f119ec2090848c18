import Foundation
import Identifiers
import Orchestrator
import PostgresNIO
import TestSupport
import Testing

/// `failHeld`: a worker's `fail` in one statement guarded by the holder; and the long-polls' `pendingBuildExists`.
@Suite struct HolderFailTests {
    @Test func failHeld_byTheHolder_finishesItsLiveAttempt_likeFail() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            let worker = try await fixture.registerWorker()
            let job = try #require(try await fixture.poll(worker))
            #expect(try await fixture.orchestrator.failHeld(build: build, worker: worker, message: "boom"))
            let record = try #require(try await fixture.orchestrator.build(build))
            #expect(record.status == .failed)
            #expect(record.attempt == job.attempt)
            #expect(record.errorMessage == "boom")
            let logs = try await fixture.orchestrator.logs(build: build, after: nil)
            #expect(logs.last?.message == "Build failed: boom")
            #expect(try await fixture.orchestrator.worker(worker)?.buildsFailed == 1)
            // The attempt row is ended, as `fail` ends it.
            let ended = try await fixture.orchestrator.client.query(
                "SELECT count(*) FROM build_attempts WHERE build_id = \(build) AND ended_at IS NOT NULL AND end_reason = 'failed'")
            for try await count in ended.decode(Int.self) { #expect(count == 1) }
        }
    }

    @Test func failHeld_byAnyoneElse_orTooLate_changesNothing() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            let holder = try await fixture.registerWorker()
            let other = try await fixture.registerWorker()
            // Not claimed yet: nobody holds it.
            #expect(try await fixture.orchestrator.failHeld(build: build, worker: holder, message: "x") == false)
            _ = try #require(try await fixture.poll(holder))
            // Someone else's build, and an unknown one.
            #expect(try await fixture.orchestrator.failHeld(build: build, worker: other, message: "x") == false)
            #expect(try await fixture.orchestrator.failHeld(build: "no-such-build", worker: holder, message: "x") == false)
            #expect(try await fixture.orchestrator.build(build)?.status == .assigned)
            // Re-queued (lease lapsed) and claimed by another worker: the first holder's attempt is over.
            _ = try await fixture.orchestrator.sweep(now: Date().addingTimeInterval(3600))
            #expect(try await fixture.poll(other)?.buildID == build)
            #expect(try await fixture.orchestrator.failHeld(build: build, worker: holder, message: "late") == false)
            #expect(try await fixture.orchestrator.build(build)?.status == .assigned)
            // Finished: nothing more.
            #expect(try await fixture.orchestrator.failHeld(build: build, worker: other, message: "done"))
            #expect(try await fixture.orchestrator.failHeld(build: build, worker: other, message: "again") == false)
            #expect(try await fixture.orchestrator.build(build)?.errorMessage == "done")
        }
    }

    @Test func pendingBuildExists_seesOnlyTheQueue() async throws {
        try await OrchestratorFixture.run { fixture in
            #expect(try await fixture.orchestrator.pendingBuildExists() == false)
            let build = try await fixture.submitBuild()
            #expect(try await fixture.orchestrator.pendingBuildExists())
            _ = try #require(try await fixture.poll(try await fixture.registerWorker()))
            #expect(try await fixture.orchestrator.pendingBuildExists() == false)
            _ = build
        }
    }
}
