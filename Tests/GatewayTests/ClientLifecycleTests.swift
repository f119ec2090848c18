import Foundation
import Gateway
import NIOCore
import HTTPTypes
import HummingbirdTesting
import Testing

/// A whole build per client generation, with the calls each one's own code makes.
@Suite struct ClientLifecycleTests {
    typealias F = GatewayFixture

    @Test func cli_submitFollowDownloadCancelRetryList() async throws {
        try await F.run { f in
            let (id, token) = try await f.submit(platform: "android")
            #expect(token.count == 43)

            // Status with the build token alone.
            let status = try await f.request(.get, "/api/builds/\(id)/status", headers: F.buildToken(token)).object()
            #expect(status["status"] as? String == "pending")
            #expect(status["submitted_at"] is Int)
            #expect(status.keys.contains("started_at"))

            // A worker builds it.
            let worker = try await f.registerWorker(platforms: ["android"])
            let job = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            let jobObject = try #require(job["job"] as? [String: Any])
            #expect(jobObject["id"] as? String == id)
            #expect(jobObject["source_url"] as? String == "/api/builds/\(id)/source")
            #expect(jobObject["certs_url"] is NSNull)
            #expect((jobObject["otp"] as? String)?.count == 43)
            let source = try await f.request(.get, "/api/builds/\(id)/source", headers: F.workerToken(worker.token))
            #expect(source.status == .ok)
            #expect(source.bytes == ZipBuilder.source())
            var log = try await f.json(.post, "/api/builds/\(id)/logs", headers: F.workerToken(worker.token), ["level": "info", "message": "gradle assemble"])
            #expect(log.status == .ok)
            log = try await f.json(.post, "/api/builds/\(id)/heartbeat", headers: F.workerToken(worker.token), ["progress": 50])
            #expect(log.status == .ok)
            var upload = MultipartBody()
            upload.field("build_id", id)
            upload.field("success", "true")
            upload.file("result", filename: "app.apk", ZipBuilder.result("android"))
            let uploaded = try await f.multipart("/api/workers/upload", headers: F.workerToken(worker.token), upload)
            #expect(uploaded.status == .ok, "\(String(buffer: uploaded.body))")
            #expect(try uploaded.object()["status"] as? String == "success")

            // Follow: status, logs (all of them), download with the token alone.
            #expect(try await f.request(.get, "/api/builds/\(id)/status", headers: F.buildToken(token)).object()["status"] as? String == "completed")
            let logs = try await f.request(.get, "/api/builds/\(id)/logs", headers: F.buildToken(token)).object()
            let lines = try #require(logs["logs"] as? [[String: Any]])
            #expect(lines.contains { $0["message"] as? String == "gradle assemble" })
            #expect(lines.contains { $0["message"] as? String == "Build progress: 50%" })
            let download = try await f.request(.get, "/api/builds/\(id)/download", headers: F.buildToken(token))
            #expect(download.status == .ok)
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"\(id).apk\"")
            #expect(download.bytes == ZipBuilder.result("android"))

            // Cancel a finished build: 400; cancel a new one with an empty JSON body: 200.
            let finished = try await f.request(.post, "/api/builds/\(id)/cancel", headers: F.buildToken(token).merging([.contentType: "application/json"]))
            #expect(finished.status == .badRequest)
            #expect(finished.errorMessage == "Build already finished")
            let (second, secondToken) = try await f.submit()
            let cancelled = try await f.request(.post, "/api/builds/\(second)/cancel", headers: F.buildToken(secondToken).merging([.contentType: "application/json"]), body: [])
            #expect(cancelled.status == .ok)
            #expect(try cancelled.object()["status"] as? String == "cancelled")
            let cancelledStatus = try await f.request(.get, "/api/builds/\(second)/status", headers: F.buildToken(secondToken)).object()
            #expect(cancelledStatus["status"] as? String == "failed")
            #expect(cancelledStatus["error_message"] as? String == "Build cancelled by user")
            #expect(try await f.request(.get, "/api/builds/\(second)", headers: F.key).object()["status"] as? String == "cancelled")

            // Retry the cancelled build: a new, immediately assignable build.
            let retry = try await f.request(.post, "/api/builds/\(second)/retry", headers: F.buildToken(secondToken))
            #expect(retry.status == .ok, "\(String(buffer: retry.body))")
            let retried = try retry.object()
            let newID = try #require(retried["id"] as? String)
            #expect(retried["original_build_id"] as? String == second)
            #expect(retried["status"] as? String == "pending")
            let next = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            #expect((next["job"] as? [String: Any])?["id"] as? String == newID)
            let newLogs = try await f.request(.get, "/api/builds/\(newID)/logs", headers: F.key).object()
            #expect((newLogs["logs"] as? [[String: Any]])?.first?["message"] as? String == "Build submitted (retry of \(second))")

            // List: an array, newest first, cancelled shown as failed.
            let list = try await f.request(.get, "/api/builds", headers: F.key)
            let items = try #require(try JSONSerialization.jsonObject(with: Data(list.bytes)) as? [[String: Any]])
            #expect(items.map { $0["id"] as? String } == [newID, second, id])
            #expect(items[1]["status"] as? String == "failed")
            #expect(items[2]["completedAt"] is String)
            #expect(items[0]["completedAt"] == nil)
        }
    }

    @Test func oldWorker_withAPIKeyAndWorkerID_buildsAnIOSBuildWithCerts() async throws {
        try await F.run { f in
            _ = try await f.submit(platform: "android")
            let (id, token) = try await f.submit(platform: "ios", certs: true)
            let worker = try await f.registerWorker()
            // Old workers poll with the API key and worker_id, and are only given iOS builds with certs.
            let poll = try await f.request(.get, "/api/workers/poll?worker_id=\(worker.id)", headers: F.key)
            #expect(poll.status == .ok)
            let job = try #require(try poll.object()["job"] as? [String: Any])
            #expect(job["id"] as? String == id)
            #expect(job["certs_url"] as? String == "/api/builds/\(id)/certs")
            let idHeader: HTTPFields = F.key.merging([HTTPField.Name("X-Worker-Id")!: worker.id])
            #expect(try await f.request(.get, "/api/builds/\(id)/source", headers: idHeader).bytes == ZipBuilder.source())
            let certs = try await f.request(.get, "/api/builds/\(id)/certs", headers: idHeader)
            #expect(certs.status == .ok)
            #expect(certs.bytes == ZipBuilder.certs())
            // The VM's telemetry is the old generation's heartbeat.
            let telemetry = try await f.json(.post, "/api/builds/\(id)/telemetry?worker_id=\(worker.id)", headers: F.key,
                                             ["type": "heartbeat", "timestamp": "2026-11-30T10:00:00Z", "data": ["metrics": ["cpu_percent": 120.5, "memory_mb": 2048]]])
            #expect(telemetry.status == .ok)
            #expect(try await f.request(.get, "/api/builds/\(id)/status", headers: F.buildToken(token)).object()["status"] as? String == "building")
            // The upload names the worker only in the form.
            var upload = MultipartBody()
            upload.field("build_id", id)
            upload.field("worker_id", worker.id)
            upload.field("success", "true")
            upload.file("result", filename: "app.ipa", ZipBuilder.result("ios"))
            let uploaded = try await f.multipart("/api/workers/upload", headers: F.key, upload)
            #expect(uploaded.status == .ok, "\(String(buffer: uploaded.body))")
            let download = try await f.request(.get, "/api/builds/\(id)/download", headers: F.buildToken(token))
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"\(id).ipa\"")
            #expect(download.bytes == ZipBuilder.result("ios"))
            // Completed: the certs are destroyed, with a tombstone.
            let show = try await f.request(.get, "/api/builds/\(id)", headers: F.key).object()
            let certsState = try #require(show["certs"] as? [String: Any])
            #expect(certsState["state"] as? String == "destroyed")
            #expect(certsState["reason"] as? String == "build completed")
        }
    }

    @Test func newWorkerAndItsVM_driveABuild_thenTheWorkersOwnUploadLeavesItCompleted() async throws {
        try await F.run { f in
            let (id, token) = try await f.submit(platform: "ios", certs: true)
            let worker = try await f.registerWorker()
            let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            #expect(poll["access_token"] as? String == worker.token)
            let otp = try #require((poll["job"] as? [String: Any])?["otp"] as? String)

            // vm-status before the VM is ready, anonymously.
            #expect(try await f.request(.get, "/api/builds/\(id)/vm-status").object()["vm_ready"] as? Bool == false)

            // The VM: authenticate → certs-secure → vm-ready → source → logs → artifact.
            let auth = try await f.json(.post, "/api/builds/\(id)/authenticate", ["otp": otp])
            #expect(auth.status == .ok)
            let vmToken = try #require(try auth.object()["vm_token"] as? String)
            let reuse = try await f.json(.post, "/api/builds/\(id)/authenticate", ["otp": otp])
            #expect(reuse.status == .unauthorized)
            #expect(reuse.errorMessage == "Invalid OTP")
            let secure = try await f.request(.get, "/api/builds/\(id)/certs-secure", headers: F.vmToken(vmToken)).object()
            #expect(secure["p12"] as? String == Data(ZipBuilder.p12Bytes).base64EncodedString())
            #expect(secure["p12Password"] as? String == ZipBuilder.certsPassword)
            #expect(Data(base64Encoded: try #require(secure["keychainPassword"] as? String))?.count == 24)
            #expect(secure["provisioningProfiles"] as? [String] == [Data(ZipBuilder.profileBytes).base64EncodedString()])
            let ready = try await f.request(.post, "/api/builds/\(id)/vm-ready", headers: F.vmToken(vmToken))
            #expect(ready.status == .ok)
            let status = try await f.request(.get, "/api/builds/\(id)/vm-status").object()
            #expect(status["vm_ready"] as? Bool == true)
            let heartbeatToken = try #require(status["vm_token"] as? String)
            #expect(heartbeatToken != vmToken)
            #expect(try await f.request(.get, "/api/builds/\(id)/source", headers: F.vmToken(vmToken)).bytes == ZipBuilder.source())
            #expect(try await f.json(.post, "/api/builds/\(id)/logs", headers: F.vmToken(vmToken), ["logs": [["level": "info", "message": "xcodebuild"], ["level": "warn", "message": "w"]]]).object()["count"] as? Int == 2)
            #expect(try await f.json(.post, "/api/builds/\(id)/heartbeat", headers: F.vmToken(heartbeatToken), ["progress": 80]).status == .ok)
            var artifact = MultipartBody()
            artifact.file("artifact", filename: "App.ipa", ZipBuilder.result("vm"))
            let uploaded = try await f.multipart("/api/builds/\(id)/artifact", headers: F.vmToken(vmToken), artifact)
            #expect(uploaded.status == .ok, "\(String(buffer: uploaded.body))")

            // The worker's own success=true upload without a file leaves the build completed.
            var report = MultipartBody()
            report.field("build_id", id)
            report.field("success", "true")
            let reported = try await f.multipart("/api/workers/upload", headers: F.workerToken(worker.token), report)
            #expect(reported.status == .ok)
            #expect(try await f.request(.get, "/api/builds/\(id)/status", headers: F.buildToken(token)).object()["status"] as? String == "completed")
            #expect(try await f.request(.get, "/api/builds/\(id)/download", headers: F.buildToken(token)).bytes == ZipBuilder.result("vm"))
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var merged = self
        for field in other { merged[field.name] = field.value }
        return merged
    }
}
