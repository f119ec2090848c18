import Foundation
import Gateway
import NIOCore
import HTTPTypes
import HummingbirdTesting
import Orchestrator
import Testing

/// Bad input and lapsed leases: a clear 4xx and no trace.
@Suite struct FailureTests {
    typealias F = GatewayFixture

    @Test func failedSubmits_leaveNoRowAndNoFile() async throws {
        try await F.run(gateway: { $0.maxSourceBytes = 4096 }) { f in
            var noPlatform = MultipartBody()
            noPlatform.file("source", filename: "p.zip", ZipBuilder.source())
            let missing = try await f.multipart("/api/builds/submit", headers: F.key, noPlatform)
            #expect(missing.status == .badRequest)
            #expect(missing.errorMessage == "Valid platform required (ios|android)")

            var noSource = MultipartBody()
            noSource.field("platform", "ios")
            #expect(try await f.multipart("/api/builds/submit", headers: F.key, noSource).errorMessage == "Source file required")

            var garbage = MultipartBody()
            garbage.file("source", filename: "p.zip", Array("definitely not a zip".utf8))
            garbage.field("platform", "ios")
            #expect(try await f.multipart("/api/builds/submit", headers: F.key, garbage).status == .badRequest)

            var huge = MultipartBody()
            huge.file("source", filename: "p.zip", [UInt8](repeating: 7, count: 10_000))
            huge.field("platform", "ios")
            let tooLarge = try await f.multipart("/api/builds/submit", headers: F.key, huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorMessage == "Source file too large")

            let notMultipart = try await f.json(.post, "/api/builds/submit", headers: F.key, ["platform": "ios"])
            #expect(notMultipart.errorMessage == "Content must be multipart/form-data")

            #expect(try await f.orchestrator.statistics().total == 0)
            #expect(f.storedFiles().filter { !$0.hasPrefix("tmp/") }.isEmpty, "\(f.storedFiles())")
        }
    }

    @Test func lapsedLease_requeuesTheBuild_andTheOldAttemptsUploadIsRefused() async throws {
        try await F.run { f in
            let (id, _) = try await f.submit()
            let first = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(first.token))
            #expect(try await f.orchestrator.sweep(now: Date().addingTimeInterval(2000)).requeued == 1)
            let second = try await f.registerWorker()
            let job = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(second.token)).object()
            #expect((job["job"] as? [String: Any])?["id"] as? String == id)
            var upload = MultipartBody()
            upload.field("build_id", id)
            upload.field("success", "true")
            upload.file("result", filename: "a.ipa", ZipBuilder.result("stale"))
            let stale = try await f.multipart("/api/workers/upload", headers: F.workerToken(first.token), upload)
            #expect(stale.status == .conflict)
            #expect(try await f.orchestrator.build(id)?.status == .assigned)
            #expect(try await f.request(.get, "/api/builds/\(id)/source", headers: F.workerToken(first.token)).status == .conflict)
        }
    }

    @Test func invalidJSONBodies_get400() async throws {
        try await F.run { f in
            let worker = try await f.registerWorker()
            let (id, _) = try await f.submit()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            let bad = try await f.request(.post, "/api/builds/\(id)/logs", headers: F.workerToken(worker.token).merging([.contentType: "application/json"]), body: Array("{\"level\":".utf8))
            #expect(bad.status == .badRequest)
            #expect(bad.errorMessage == "Invalid body. Expected { level, message } or { logs: [...] }")
            let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
            #expect(try await f.request(.post, "/api/builds/\(id)/logs", headers: F.workerToken(worker.token), body: Array(deep.utf8)).status == .badRequest)
            let register = try await f.json(.post, "/api/workers/register", headers: F.key, ["name": "x"])
            #expect(register.errorMessage == "Name and capabilities required")
        }
    }

    @Test func failureReport_afterCompletion_cannotOverwriteIt() async throws {
        try await F.run { f in
            let (id, token) = try await f.submit()
            let worker = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            var upload = MultipartBody()
            upload.field("build_id", id)
            upload.field("success", "true")
            upload.file("result", filename: "a.ipa", ZipBuilder.result())
            #expect(try await f.multipart("/api/workers/upload", headers: F.workerToken(worker.token), upload).status == .ok)
            let late = try await f.json(.post, "/api/workers/fail", headers: F.workerToken(worker.token), ["build_id": id, "error": "oops"])
            #expect(late.status == .conflict)
            #expect(late.errorMessage == "Build already finished")
            #expect(try await f.request(.get, "/api/builds/\(id)/status", headers: F.buildToken(token)).object()["status"] as? String == "completed")
        }
    }

    @Test func download_supportsRangeAndHead() async throws {
        try await F.run { f in
            let (id, token) = try await f.submit()
            let source = ZipBuilder.source()
            let headers = F.buildToken(token)
            let head = try await f.request(.head, "/api/builds/\(id)/download/source", headers: headers)
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == "\(source.count)")
            #expect(head.headers[.acceptRanges] == "bytes")
            let part = try await f.request(.get, "/api/builds/\(id)/download/source", headers: headers.merging([.range: "bytes=10-19"]))
            #expect(part.status == .partialContent)
            #expect(part.bytes == Array(source[10...19]))
            #expect(part.headers[.contentRange] == "bytes 10-19/\(source.count)")
            let tail = try await f.request(.get, "/api/builds/\(id)/download/source", headers: headers.merging([.range: "bytes=-5"]))
            #expect(tail.bytes == Array(source.suffix(5)))
            let beyond = try await f.request(.get, "/api/builds/\(id)/download/source", headers: headers.merging([.range: "bytes=999999-"]))
            #expect(beyond.status == .rangeNotSatisfiable)
            #expect(try await f.request(.get, "/api/builds/\(id)/download/other", headers: headers).errorMessage == "Invalid file type")
            #expect(try await f.request(.get, "/api/builds/\(id)/download", headers: headers).errorMessage == "Build not completed")
        }
    }
}

@Suite struct NulInputTests {
    @Test func nulCharactersInText_are400_notServerErrors() async throws {
        try await GatewayFixture.run { f in
            let register = try await f.request(.post, "/api/workers/register", headers: GatewayFixture.key.merging([.contentType: "application/json"]),
                                               body: Array(#"{"name":"a\u0000b","capabilities":{"x":"y\u0000"}}"#.utf8))
            #expect(register.status == .badRequest)
            #expect(register.errorMessage == "Text may not contain NUL characters")
            let list = try await f.request(.get, "/api/builds?worker_id=a%00b", headers: GatewayFixture.key)
            #expect(list.status == .badRequest)
        }
    }
}
