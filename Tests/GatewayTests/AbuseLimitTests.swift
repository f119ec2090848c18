import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import Gateway

/// Abuse limits: authentication failures per client, concurrent uploads per credential, idle connections, and
/// security log lines that carry the request id and never a secret.
@Suite struct AbuseLimitTests {
    typealias F = GatewayFixture
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let wrongKey: HTTPFields = [HTTPField.Name("X-API-Key")!: String(repeating: "w", count: 43)]

    // MARK: Authentication failures

    @Test func repeatedAuthFailures_fromOneClient_are429WithRetryAfter_afterTheThreshold() async throws {
        try await F.run(.live, gateway: { $0.authFailureLimit = 5 }) { f in
            for attempt in 1...5 {
                #expect(try await f.request(.get, "/api/builds", headers: Self.wrongKey).status == .forbidden, "attempt \(attempt)")
            }
            // From now on even the right key is refused from this client: a guesser learns nothing more.
            let refused = try await f.request(.get, "/api/builds", headers: F.key)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.errorMessage == "Too many failed authentication attempts; retry later")
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))
            #expect(refused.headers[RequestIDMiddleware.header] != nil)
            // Routes that take no credential stay reachable (a load balancer's health check, the landing page).
            #expect(try await f.request(.get, "/health").status == .ok)
            #expect(try await f.request(.get, "/api/stats").status == .ok)
        }
    }

    @Test func aWorkerPollingEverySecond_isNeverLimited_whileAFailingClientBehindTheSameProxyIs() async throws {
        try await F.run(.live, gateway: { $0.authFailureLimit = 3; $0.trustedProxies = ["127.0.0.1"] }) { f in
            let worker = try await f.registerWorker()
            var attacker = F.workerToken(String(repeating: "a", count: 43))
            attacker[Self.forwardedFor] = "203.0.113.9"
            var token = worker.token
            // Thirty polls stand for half a minute of a worker polling every second: successes never count.
            for round in 0..<30 {
                let guess = try await f.request(.get, "/api/workers/poll", headers: attacker)
                #expect(guess.status == (round < 3 ? .unauthorized : .tooManyRequests), "round \(round)")
                var headers = F.workerToken(token)
                headers[Self.forwardedFor] = "198.51.100.7, 127.0.0.1"
                let poll = try await f.request(.get, "/api/workers/poll", headers: headers)
                #expect(poll.status == .ok, "round \(round): \(poll.status)")
                token = try #require(try poll.object()["access_token"] as? String)
            }
        }
    }

    @Test func forwardedFor_fromAPeerThatIsNoTrustedProxy_isIgnored() async throws {
        try await F.run(.live, gateway: { $0.authFailureLimit = 2 }) { f in
            for address in ["203.0.113.1", "203.0.113.2"] {
                var headers = Self.wrongKey
                headers[Self.forwardedFor] = address
                let failed = try await f.request(.get, "/api/builds", headers: headers)
                #expect(failed.status == .forbidden)
            }
            var fresh = F.key
            fresh[Self.forwardedFor] = "203.0.113.3"
            let refused = try await f.request(.get, "/api/builds", headers: fresh)
            #expect(refused.status == .tooManyRequests)
        }
    }

    @Test func limiter_countsWithinItsWindow_andLiftsTheRefusalAfterOneWindow() {
        let limiter = AuthFailureLimiter(limit: 3, window: .seconds(60))
        let start = ContinuousClock.now
        limiter.recordFailure(client: "a", now: start)
        limiter.recordFailure(client: "a", now: start + .seconds(30))
        // The window started anew: a third failure 61 s after the first does not reach the limit.
        #expect(limiter.recordFailure(client: "a", now: start + .seconds(61)) == nil)
        #expect(limiter.retryAfter(client: "a", now: start + .seconds(61)) == nil)
        limiter.recordFailure(client: "a", now: start + .seconds(62))
        #expect(limiter.recordFailure(client: "a", now: start + .seconds(63)) == 60)
        #expect(limiter.retryAfter(client: "a", now: start + .seconds(100)) == 23)
        #expect(limiter.retryAfter(client: "b", now: start + .seconds(100)) == nil)
        #expect(limiter.retryAfter(client: "a", now: start + .seconds(124)) == nil)

        let off = AuthFailureLimiter(limit: 0, window: .seconds(60))
        for _ in 0..<100 { off.recordFailure(client: "a", now: start) }
        #expect(off.retryAfter(client: "a", now: start) == nil)
    }

    // MARK: Concurrent uploads

    @Test func uploadSlots_refuseOneMoreThanTheCap_perCredential_andFreeOnCompletion() async throws {
        let slots = UploadSlots(limit: 2)
        let token = String(repeating: "t", count: 43)
        let (gate, open) = AsyncStream<Void>.makeStream()
        let (entered, enter) = AsyncStream<Void>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    try await slots.withSlot(for: token) {
                        enter.yield()
                        for await _ in gate {}
                    }
                }
            }
            var iterator = entered.makeAsyncIterator()
            _ = await iterator.next()
            _ = await iterator.next()
            #expect(slots.count(for: token) == 2)
            await #expect(throws: AbuseLimitError.self) { try await slots.withSlot(for: token) {} }
            try await slots.withSlot(for: String(repeating: "u", count: 43)) {}
            open.finish()
            try await group.waitForAll()
        }
        #expect(slots.count(for: token) == 0)
        try await slots.withSlot(for: token) {}
    }

    @Test func anUploadBeyondTheCredentialsCap_is429_whileAnotherCredentialStillUploads() async throws {
        try await F.run(.live, gateway: { $0.maxConcurrentUploadsPerCredential = 1 }) { f in
            let port = try #require(f.client.port)
            // A submit whose body never finishes holds the API key's only slot.
            let held = try await RawConnection.open(port: port)
            let head = "POST /api/builds/submit HTTP/1.1\r\nHost: localhost\r\nX-API-Key: \(F.apiKey)\r\n"
                + "Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 100000\r\n\r\n--xyz\r\n"
            try await held.send(head)
            let slots = f.gateway.routeGuard.uploads
            for _ in 0..<500 where slots.count(for: F.apiKey) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(slots.count(for: F.apiKey) == 1)

            var form = MultipartBody()
            form.file("source", filename: "project.zip", contentType: "application/zip", ZipBuilder.source())
            form.field("platform", "ios")
            let refused = try await f.multipart("/api/builds/submit", headers: F.key, form)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.errorMessage == "Too many concurrent uploads for this credential; retry later")
            #expect(refused.headers[.retryAfter] != nil)
            // Reading the API is no upload: still served.
            #expect(try await f.request(.get, "/api/builds", headers: F.key).status == .ok)

            try await held.close()
            for _ in 0..<500 where slots.count(for: F.apiKey) > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await f.multipart("/api/builds/submit", headers: F.key, form).status == .ok)
        }
    }

    // MARK: JSON bodies

    @Test func jsonBodies_overOneMiB_are413_andNestedDeeperThan32_are400() async throws {
        try await F.run { f in
            var headers = F.key
            headers[.contentType] = "application/json"
            func register(nesting depth: Int) async throws -> TestResponse {
                // The outer object and `capabilities` are two levels; the arrays make up the rest.
                let arrays = depth - 2
                let body = #"{"name":"mac","capabilities":{"deep":"# + String(repeating: "[", count: arrays)
                    + String(repeating: "]", count: arrays) + "}}"
                return try await f.request(.post, "/api/workers/register", headers: headers, body: Array(body.utf8))
            }
            #expect(try await register(nesting: 32).status == .ok)
            let deep = try await register(nesting: 33)
            #expect(deep.status == .badRequest)
            #expect(deep.errorMessage == "Name and capabilities required")
            // A body that is nothing but brackets costs a scan, not a recursion.
            #expect(try await register(nesting: 200_000).status == .badRequest)

            let padding = String(repeating: "x", count: 1 << 20)
            let huge = try await f.request(
                .post, "/api/workers/register", headers: headers,
                body: Array(#"{"name":"mac","capabilities":{},"pad":"\#(padding)"}"#.utf8))
            #expect(huge.status == .contentTooLarge)
            #expect(huge.errorMessage == "Request body too large")
        }
    }

    // MARK: Slow clients

    @Test func aConnectionThatDribblesItsHeaders_isClosedAfterTheIdleTimeout() async throws {
        try await F.run(.live, gateway: { $0.idleTimeout = .seconds(1) }) { f in
            let port = try #require(f.client.port)
            let connection = try await RawConnection.open(port: port)
            let start = ContinuousClock.now
            // One header byte every 100 ms: the connection is never idle at the TCP level, but no request head
            // ever completes. Without the timeout it would stay open for the whole 10 s of dribbling.
            let received = try await connection.dribbleUntilClosed(
                prefix: "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", byte: "a", every: .milliseconds(100), for: 100)
            let elapsed = ContinuousClock.now - start
            #expect(received.isEmpty, "no response to a request that never finished its head")
            // Well under the 10 s of dribbling, with room for a parallel suite on two cores.
            #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(8), "closed after \(elapsed)")
        }
    }

    @Test func brokenRequestFraming_isTheClientsFault_notAServerError() async throws {
        let lines = LogCapture()
        var logger = Logger(label: "gateway-test") { _ in lines }
        logger.logLevel = .info
        try await F.run(.live, logger: logger) { f in
            let connection = try await RawConnection.open(port: try #require(f.client.port))
            let request = "POST /api/workers/register HTTP/1.1\r\nHost: localhost\r\nX-API-Key: \(F.apiKey)\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nnot-a-chunk-size\r\n"
            let received = try await connection.dribbleUntilClosed(prefix: request, byte: "", every: .milliseconds(100), for: 50)
            let head = String(decoding: received.prefix(12), as: UTF8.self)
            #expect(head.isEmpty || head == "HTTP/1.1 400", "answered \(head)")
            #expect(!lines.entries.contains { $0.level >= .error }, "a client's broken request logged as our error")
        }
    }

    // MARK: Security log

    @Test func securityLogLines_carryTheRequestID_andNeverASecret() async throws {
        let lines = LogCapture()
        var logger = Logger(label: "gateway-test") { _ in lines }
        logger.logLevel = .info
        try await F.run(.live, gateway: { $0.authFailureLimit = 3 }, logger: logger) { f in
            let (build, buildToken) = try await f.submit(certs: true)
            let worker = try await f.registerWorker()
            let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            let otp = try #require((try poll.object()["job"] as? [String: Any])?["otp"] as? String)
            let certs = try await f.request(.get, "/api/builds/\(build)/certs", headers: F.workerToken(worker.token))
            #expect(certs.status == .ok)
            #expect(try await f.request(.delete, "/api/workers/\(worker.id)", headers: F.key).status == .ok)
            // The revoked token, a wrong key and a spent guess: three failures, then the limit.
            let requestID = "trace-me-42"
            var revoked = F.workerToken(worker.token)
            revoked[RequestIDMiddleware.header] = requestID
            #expect(try await f.request(.get, "/api/workers/poll", headers: revoked).status == .unauthorized)
            #expect(try await f.request(.get, "/api/builds", headers: Self.wrongKey).status == .forbidden)
            #expect(try await f.request(.get, "/api/builds/\(build)/status", headers: F.buildToken(String(repeating: "b", count: 43))).status == .forbidden)
            #expect(try await f.request(.get, "/api/builds", headers: F.key).status == .tooManyRequests)

            let all = lines.entries.filter { $0.metadata["security_event"] != nil }
            func events(_ name: String) -> [LogCapture.Entry] { all.filter { $0.metadata["security_event"] == name } }
            #expect(events("cert_release").count == 1)
            #expect(events("cert_release").first?.metadata["build_id"] == build)
            #expect(events("revocation").first?.metadata["worker_id"] == worker.id)
            #expect(events("auth_failure").count == 3)
            #expect(events("auth_failure").first?.metadata["request_id"] == requestID)
            #expect(events("auth_failure").first?.metadata["credentials_sent"] == "X-Worker-Token")
            #expect(events("rate_limited").count == 2, "the limit starting, then the refused request")
            #expect(all.allSatisfy { $0.metadata["request_id"] != nil && $0.metadata["client"] == "127.0.0.1" })
            let everything = lines.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
            for secret in [F.apiKey, buildToken, worker.token, otp, String(repeating: "w", count: 43)] {
                #expect(!everything.contains(secret), "a secret reached the log")
            }
        }
    }
}

/// Collects log lines (message and flattened metadata) for assertions.
final class LogCapture: LogHandler, Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let stored = Mutex<[Entry]>([])
    private let baseMetadata = Mutex<Logger.Metadata>([:])
    var entries: [Entry] { stored.withLock { $0 } }

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    var metadata: Logger.Metadata {
        get { baseMetadata.withLock { $0 } }
        set { baseMetadata.withLock { $0 = newValue } }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let flat = merged.mapValues { "\($0)" }
        stored.withLock { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: flat)) }
    }
}

/// A bare TCP connection, for clients that misbehave on purpose.
struct RawConnection: Sendable {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func open(port: Int) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawConnection(channel: channel)
    }

    func send(_ text: String) async throws {
        try await channel.channel.writeAndFlush(ByteBuffer(string: text))
    }

    func close() async throws {
        try await channel.channel.close()
    }

    /// Sends `prefix`, then `byte` every `interval`, `count` times, until the server closes the connection (or,
    /// when it does not, until the last byte is sent); returns whatever the server sent.
    func dribbleUntilClosed(prefix: String, byte: String, every interval: Duration, for count: Int) async throws -> [UInt8] {
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await outbound.write(ByteBuffer(string: prefix))
                    for _ in 0..<count {
                        try await Task.sleep(for: interval)
                        try await outbound.write(ByteBuffer(string: byte))
                    }
                    // The server kept the connection through all of it: end it here, so that the caller sees how
                    // long that took instead of waiting forever.
                    try? await channel.channel.close()
                }
                var received: [UInt8] = []
                do {
                    for try await chunk in inbound { received += Array(chunk.readableBytesView) }
                } catch {
                    // A reset is as much a close as an orderly end of stream.
                }
                group.cancelAll()
                return received
            }
        }
    }
}
