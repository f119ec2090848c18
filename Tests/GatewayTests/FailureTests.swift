import Foundation
import Gateway
import NIOCore
import HTTPTypes
import HummingbirdTesting
import NIOPosix
import Orchestrator
import TestSupport
import Testing

/// Bad input and lapsed leases: a clear 4xx and no trace.
@Suite struct FailureTests {
    typealias F = GatewayFixture

    @Test(arguments: TestBackend.allCases)
    func failedSubmits_leaveNoRowAndNoFile(storage: TestBackend) async throws {
        try await F.run(storage: storage, gateway: { $0.maxSourceBytes = 4096 }) { f in
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
            let stored = try await f.storedEverything()
            #expect(try await f.storedObjects().isEmpty, "\(stored)")
            #expect(try await f.settledLeftovers().isEmpty, "\(stored)")
        }
    }

    /// A body that crosses the limit is answered 413 as soon as it does, while the client is still sending (it
    /// promised far more), and leaves nothing: no row, no blob, no temporary file, no staged or unfinished upload.
    /// 8 MiB against a 6 MiB limit: on S3 the first 5 MiB part is already in the bucket when the limit is crossed.
    @Test(arguments: TestBackend.allCases)
    func submit_crossingTheLimit_is413AtOnce_withNothingLeft(storage: TestBackend) async throws {
        try await F.run(.live, storage: storage, gateway: { $0.maxSourceBytes = 6 << 20 }) { f in
            let port = try #require(f.client.port)
            let boundary = "big-\(UUID().uuidString)"
            var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"platform\"\r\n\r\nios\r\n".utf8)
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"source\"; filename=\"p.zip\"\r\nContent-Type: application/zip\r\n\r\n".utf8)
            body += [UInt8](repeating: 0x42, count: 8 << 20)
            let promised = 64 << 20
            let head = "POST /api/builds/submit HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: \(F.apiKey)\r\n"
                + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(promised)\r\n\r\n"
            // Generous for a loaded machine: only an answer before the promised 64 MiB (never sent) counts anyway.
            let answer = try await Self.sendWithoutFinishing(port: port, Array(head.utf8) + body, readFor: .seconds(60))
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 413"), "answered: \(text.prefix(300))")
            #expect(text.contains("Source file too large"), "answered: \(text.prefix(300))")
            #expect(try await f.orchestrator.statistics().total == 0)
            let leftovers = try await f.settledLeftovers()
            #expect(leftovers.isEmpty, "left behind: \(leftovers)")
            let everything = try await f.storedEverything()
            #expect(everything.isEmpty, "stored: \(everything)")
        }
    }

    /// Sends `bytes` on a fresh connection (without the rest of the body its head promised) and returns what the
    /// server answers within `timeout`: its first response (head and `Content-Length` bytes of body), or what came
    /// before the server closed. The connection is closed afterwards.
    private static func sendWithoutFinishing(port: Int, _ bytes: [UInt8], readFor timeout: Duration) async throws -> [UInt8] {
        enum Event: Sendable {
            case sent
            case timedOut
            case answer([UInt8])
        }
        let connection = try await RawConnection.open(port: port)
        return try await connection.channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Event.self) { group in
                group.addTask {
                    // The server may answer and stop reading before it has everything: a failed write is expected.
                    var offset = 0
                    while offset < bytes.count {
                        let end = min(offset + 65_536, bytes.count)
                        do { try await outbound.write(ByteBuffer(bytes: Array(bytes[offset..<end]))) } catch { break }
                        offset = end
                    }
                    return .sent
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return .timedOut
                }
                group.addTask {
                    var received: [UInt8] = []
                    do {
                        for try await chunk in inbound {
                            received += Array(chunk.readableBytesView)
                            if Self.isWholeResponse(received) { break }
                        }
                    } catch {
                        // A reset after the answer is as much an end as an orderly close.
                    }
                    return .answer(received)
                }
                var answer: [UInt8] = []
                loop: while let event = try await group.next() {
                    switch event {
                    case .sent: continue
                    case .timedOut: break loop
                    case .answer(let bytes):
                        answer = bytes
                        break loop
                    }
                }
                group.cancelAll()
                return answer
            }
        }
    }

    /// Whether `bytes` hold a whole response head and as many body bytes as its `Content-Length` says.
    private static func isWholeResponse(_ bytes: [UInt8]) -> Bool {
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return false }
        return bytes.count - end.upperBound >= length
    }

    @Test(arguments: TestBackend.allCases)
    func lapsedLease_requeuesTheBuild_andTheOldAttemptsUploadIsRefused(storage: TestBackend) async throws {
        try await F.run(storage: storage) { f in
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
            // The refused upload stored nothing: only the source is there.
            let stored = try await f.storedObjects()
            #expect(stored.count == 1 && stored[0].hasPrefix("blobs/source/"), "\(stored)")
            let leftovers = try await f.settledLeftovers()
            #expect(leftovers.isEmpty, "left behind: \(leftovers)")
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

    @Test(arguments: TestBackend.allCases)
    func download_supportsRangeAndHead(storage: TestBackend) async throws {
        try await F.run(storage: storage) { f in
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
