import Foundation
import Gateway
import NIOCore
import HTTPTypes
import HummingbirdTesting
import Orchestrator
import Testing

/// The contract's paragraphs on the newest worker, each from running that worker's own code: one test each.
@Suite struct NewestWorkerContractTests {
    typealias F = GatewayFixture

    /// Starts a build for the newest worker up to a ready VM; returns the ids and tokens involved.
    private func readyVM(_ f: F, certs: Bool = true) async throws -> (id: String, worker: (id: String, token: String), vm: String, heartbeat: String) {
        _ = try await f.submit(platform: "ios", certs: certs)
        let worker = try await f.registerWorker()
        let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
        // The oldest pending build: in tests that run this twice, a re-queued earlier one comes first.
        let job = try #require(poll["job"] as? [String: Any])
        let id = try #require(job["id"] as? String)
        let otp = try #require(job["otp"] as? String)
        let vm = try #require(try await f.json(.post, "/api/builds/\(id)/authenticate", ["otp": otp]).object()["vm_token"] as? String)
        #expect(try await f.request(.post, "/api/builds/\(id)/vm-ready", headers: F.vmToken(vm)).status == .ok)
        let heartbeat = try #require(try await f.request(.get, "/api/builds/\(id)/vm-status").object()["vm_token"] as? String)
        return (id, worker, vm, heartbeat)
    }

    @Test func lateHeartbeat_fromTheAttemptThatCompleted_answers200AndChangesNothing() async throws {
        try await F.run { f in
            let (id, _, vm, heartbeat) = try await readyVM(f)
            var artifact = MultipartBody()
            artifact.file("artifact", filename: "App.ipa", ZipBuilder.result())
            #expect(try await f.multipart("/api/builds/\(id)/artifact", headers: F.vmToken(vm), artifact).status == .ok)
            let late = try await f.json(.post, "/api/builds/\(id)/heartbeat", headers: F.vmToken(heartbeat), ["progress": 100])
            #expect(late.status == .ok)
            #expect(try late.object()["status"] as? String == "ok")
            #expect(try await f.orchestrator.build(id)?.status == .completed)
        }
    }

    @Test func lateHeartbeat_forACancelledBuild_answers409() async throws {
        try await F.run { f in
            let (id, _, _, heartbeat) = try await readyVM(f)
            #expect(try await f.request(.post, "/api/builds/\(id)/cancel", headers: F.key).status == .ok)
            let late = try await f.json(.post, "/api/builds/\(id)/heartbeat", headers: F.vmToken(heartbeat), [:])
            #expect(late.status == .conflict)
            #expect(late.errorMessage == "Build was cancelled")
        }
    }

    @Test func assignmentLease_coversTheSilentVMClone_untilTheFirstHeartbeat() async throws {
        try await F.run(orchestrator: { $0.buildHeartbeatTimeout = .seconds(60); $0.sweepInterval = .seconds(5); $0.assignmentLease = .seconds(1800) }) { f in
            let (id, _) = try await f.submit()
            let worker = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            // Twenty minutes without an authenticated call (cloning a VM image): still the worker's.
            #expect(try await f.orchestrator.sweep(now: Date().addingTimeInterval(1200)) == SweepResult())
            #expect(try await f.orchestrator.build(id)?.status == .assigned)
            // Past the assignment lease, it goes back to the queue.
            #expect(try await f.orchestrator.sweep(now: Date().addingTimeInterval(1900)).requeued == 1)
        }
    }

    @Test func vmStatus_answers404_whenNoAttemptIsLive() async throws {
        try await F.run { f in
            let (pending, _) = try await f.submit()
            let never = try await f.request(.get, "/api/builds/\(pending)/vm-status")
            #expect(never.status == .notFound)
            #expect(never.errorMessage == "No active build attempt")
            #expect(try await f.request(.get, "/api/builds/doesNotExist123/vm-status").status == .notFound)

            let (id, worker, _, _) = try await readyVM(f)
            #expect(try await f.request(.get, "/api/builds/\(id)/vm-status").status == .ok)
            // Re-queued: the worker's attempt is over.
            #expect(try await f.json(.post, "/api/workers/abandon", headers: F.workerToken(worker.token), ["build_id": id, "reason": "disk full"]).status == .ok)
            #expect(try await f.request(.get, "/api/builds/\(id)/vm-status").status == .notFound)

            // The abandoned build is handed out again: ready, then cancelled.
            let (cancelled, _, _, _) = try await readyVM(f)
            #expect(cancelled == id)
            _ = try await f.request(.post, "/api/builds/\(cancelled)/cancel", headers: F.key)
            #expect(try await f.request(.get, "/api/builds/\(cancelled)/vm-status").status == .notFound)
            // Finished: completed through the VM.
            let (finished, _, vm, _) = try await readyVM(f)
            var artifact = MultipartBody()
            artifact.file("artifact", filename: "App.ipa", ZipBuilder.result())
            #expect(try await f.multipart("/api/builds/\(finished)/artifact", headers: F.vmToken(vm), artifact).status == .ok)
            #expect(try await f.request(.get, "/api/builds/\(finished)/vm-status").status == .notFound)
        }
    }

    @Test func vmStatusToken_canOnlySendHeartbeats() async throws {
        try await F.run { f in
            let (id, _, _, heartbeat) = try await readyVM(f)
            #expect(try await f.json(.post, "/api/builds/\(id)/heartbeat", headers: F.vmToken(heartbeat), [:]).status == .ok)
            for path in ["source", "certs", "certs-secure"] {
                #expect(try await f.request(.get, "/api/builds/\(id)/\(path)", headers: F.vmToken(heartbeat)).status == .forbidden)
            }
            #expect(try await f.request(.post, "/api/builds/\(id)/vm-ready", headers: F.vmToken(heartbeat)).status == .forbidden)
            var artifact = MultipartBody()
            artifact.file("artifact", filename: "App.ipa", ZipBuilder.result())
            #expect(try await f.multipart("/api/builds/\(id)/artifact", headers: F.vmToken(heartbeat), artifact).status == .forbidden)
        }
    }

    @Test func unregister_withAnExpiredTokenAndTheAPIKey_isAccepted_butNotWithoutTheKey() async throws {
        try await F.run { f in
            let (id, _) = try await f.submit()
            let worker = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            // The worker built for longer than its token lives (it does not poll while it builds).
            try await f.setTokenExpiry(of: worker.id, secondsFromNow: -3600)
            let withoutKey = try await f.request(.post, "/api/workers/unregister", headers: F.workerToken(worker.token))
            #expect(withoutKey.status == .unauthorized)
            let withKey = try await f.request(.post, "/api/workers/unregister", headers: F.workerToken(worker.token).merging(F.key))
            #expect(withKey.status == .ok)
            #expect(try withKey.object()["builds_reassigned"] as? Int == 1)
            #expect(try await f.orchestrator.build(id)?.status == .pending)
            // An expired token still answers 401 on other routes, key or not.
            #expect(try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token).merging(F.key)).status == .unauthorized)
        }
    }

    @Test func unregister_withATokenExpiredMoreThanADayAgo_isRefused() async throws {
        try await F.run { f in
            let worker = try await f.registerWorker()
            try await f.setTokenExpiry(of: worker.id, secondsFromNow: -90_000)
            let response = try await f.request(.post, "/api/workers/unregister", headers: F.workerToken(worker.token).merging(F.key))
            #expect(response.status == .unauthorized)
        }
    }

    @Test func platformMatching_anyByDefault_strictWhenAsked() async throws {
        try await F.run { f in
            let (android, _) = try await f.submit(platform: "android")
            // The newest worker declares ["ios"] yet builds Android too.
            let worker = try await f.registerWorker(platforms: ["ios"])
            let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            #expect((poll["job"] as? [String: Any])?["id"] as? String == android)
        }
        try await F.run(orchestrator: { $0.platformMatching = .strict }) { f in
            let (android, _) = try await f.submit(platform: "android")
            let iosWorker = try await f.registerWorker(platforms: ["ios"])
            let none = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(iosWorker.token)).object()
            #expect(none["job"] is NSNull)
            let androidWorker = try await f.registerWorker(platforms: ["android"])
            let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(androidWorker.token)).object()
            #expect((poll["job"] as? [String: Any])?["id"] as? String == android)
        }
    }

    @Test func workerToken_rotatesNearExpiry_andThePreviousOneStaysValid() async throws {
        try await F.run(orchestrator: { $0.workerTokenTTL = .seconds(900) }) { f in
            let worker = try await f.registerWorker()
            let first = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            #expect(first["access_token"] as? String == worker.token)
            // Less than a third of its lifetime left: the next poll hands out a fresh token.
            try await f.setTokenExpiry(of: worker.id, secondsFromNow: 200)
            let rotated = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            let fresh = try #require(rotated["access_token"] as? String)
            #expect(fresh != worker.token)
            #expect(try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).status == .ok)
            let again = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(fresh)).object()
            #expect(again["access_token"] as? String == fresh)
        }
    }

    @Test func longPoll_answersAsSoonAsABuildIsQueued() async throws {
        try await F.run { f in
            let worker = try await f.registerWorker()
            async let poll = f.request(.get, "/api/workers/poll?wait=20", headers: F.workerToken(worker.token))
            try await Task.sleep(for: .milliseconds(300))
            let (id, _) = try await f.submit()
            let job = try await poll.object()["job"] as? [String: Any]
            #expect(job?["id"] as? String == id)
        }
    }
}
