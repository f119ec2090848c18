import Foundation
import HTTPTypes
import Orchestrator
import PostgresNIO
import Synchronization
import Testing

@testable import Gateway

/// The held long-polls' periodic re-check: one shared `EXISTS (pending build)` per process and tick, a claim only
/// when it says yes; NOTIFY still wakes them at once (NewestWorkerContractTests.longPoll_answersAsSoonAsABuildIsQueued).
@Suite struct LongPollRecheckTests {
    typealias F = GatewayFixture

    // MARK: PendingRecheck

    @Test func recheck_asksOncePerTick_forEveryCallerOfThatTick() async throws {
        let origin = ContinuousClock.now
        let recheck = PendingRecheck(interval: .seconds(3600), origin: origin)
        let asked = Atomic<Int>(0)
        let ask: @Sendable () async throws -> Bool = {
            asked.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(50))
            return true
        }
        // 50 long-polls waking on the same tick, most of them while the first one's question is still running.
        let answers = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 { group.addTask { await recheck.pendingBuildExists(at: origin + .seconds(1), ask) } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(answers == Array(repeating: true, count: 50))
        #expect(asked.load(ordering: .relaxed) == 1)
        // The next tick asks again.
        #expect(await recheck.pendingBuildExists(at: origin + .seconds(3601), ask))
        #expect(asked.load(ordering: .relaxed) == 2)
    }

    @Test func recheck_whoseQuestionFails_letsTheLongPollsTryTheirClaim() async {
        struct DatabaseDown: Error {}
        let recheck = PendingRecheck(interval: .seconds(1))
        #expect(await recheck.pendingBuildExists { throw DatabaseDown() })
    }

    @Test func recheck_ticksAreFixedOnTheClock() {
        let origin = ContinuousClock.now
        let recheck = PendingRecheck(interval: .seconds(5), origin: origin)
        #expect(recheck.tick(at: origin + .milliseconds(4999)) == 0)
        #expect(recheck.tick(at: origin + .seconds(5)) == 1)
        #expect(recheck.nextTick(after: origin + .milliseconds(12_500)) == origin + .seconds(15))
        #expect(recheck.nextTick(after: origin + .seconds(15)) == origin + .seconds(20))
    }

    // MARK: Through HTTP (the fixture re-checks every 200 ms)

    @Test func heldLongPoll_findsABuildQueuedWithoutANotification_atTheNextTick() async throws {
        try await F.run { f in
            let worker = try await f.registerWorker()
            let (id, _) = try await f.submit()
            // Out of the queue for now, so the long-poll below finds nothing and waits.
            try await f.orchestrator.client.query(
                "UPDATE builds SET status = 'cancelled', completed_at = now() WHERE id = \(id)")
            let started = ContinuousClock.now
            // A long wait, so that "found at the end of the wait" and "found by a re-check" stay far apart even
            // when the parallel suite leaves this test a fraction of the two cores (CI saw 5.4 s for a 200 ms tick).
            async let poll = f.request(.get, "/api/workers/poll?wait=60", headers: F.workerToken(worker.token))
            try await Task.sleep(for: .milliseconds(500))
            // Back in the queue with no NOTIFY and no signal: only the re-check can find it.
            try await f.orchestrator.client.query(
                "UPDATE builds SET status = 'pending', completed_at = NULL WHERE id = \(id)")
            let job = try await poll.object()["job"] as? [String: Any]
            #expect(job?["id"] as? String == id)
            #expect(ContinuousClock.now - started < .seconds(30), "found by the re-check, not at the end of the wait")
        }
    }

    @Test func idleLongPoll_reChecksWithoutAClaimTransaction() async throws {
        try await F.run { f in
            let worker = try await f.registerWorker()
            let registered = try #require(try await f.orchestrator.worker(worker.id)).lastSeenAt
            // The wait outlasts a slow start below, so the poll's last claim attempt cannot fall inside the watch.
            async let poll = f.request(.get, "/api/workers/poll?wait=20", headers: F.workerToken(worker.token))
            // The poll's first claim marks the worker seen; wait for it (however slow the machine), then watch.
            var before = registered
            let deadline = ContinuousClock.now + .seconds(15)
            while before == registered, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                before = try #require(try await f.orchestrator.worker(worker.id)).lastSeenAt
            }
            try #require(before != registered, "the poll never started")
            // Five ticks of 200 ms on an empty queue: a claim attempt would have moved last_seen_at (the poll
            // transaction's first statement sets it); the shared EXISTS does not touch the worker.
            try await Task.sleep(for: .milliseconds(1000))
            let after = try #require(try await f.orchestrator.worker(worker.id)).lastSeenAt
            #expect(after == before)
            let answer = try await poll.object()
            #expect(answer["job"] is NSNull)
        }
    }
}
