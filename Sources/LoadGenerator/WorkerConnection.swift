import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One simulated worker's own keep-alive HTTP/1.1 connection, for the assignment loop's two calls (poll, fail).
///
/// The assignment benchmark is CPU-bound on two cores shared by the controller, PostgreSQL and this generator,
/// and its baseline's client (pgbench, C) costs ~0.2 ms of CPU per claim. Through async-http-client (its pool,
/// URL parsing, per-request state machines) the generator cost ~1 ms per claim, CPU taken from the controller it
/// measures; a bare NIO channel per worker, one request at a time, costs a fraction of that. A call is bounded by
/// the run's `--max-seconds`, not by a timeout of its own.
struct WorkerConnection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private let host: String

    private init(
        inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>, host: String
    ) {
        self.inbound = inbound
        self.outbound = outbound
        self.host = host
    }

    /// Connects to `url`, runs `body` with the connection, then closes it.
    static func with<T: Sendable>(
        _ url: LoopbackURL, group: any EventLoopGroup, _ body: (inout WorkerConnection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: "127.0.0.1", port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = WorkerConnection(
                inbound: inbound.makeAsyncIterator(), outbound: outbound, host: "127.0.0.1:\(url.port)")
            return try await body(&connection)
        }
    }

    /// `GET /api/workers/poll?wait=`, as ``ControllerClient/poll(_:wait:)``: the job or `nil`; keeps the rotated token.
    mutating func poll(_ worker: inout SimulatedWorker, wait: Int) async throws -> ControllerClient.Job? {
        let reply = try await send(.GET, "/api/workers/poll?wait=\(wait)", token: worker.token, body: nil)
        try reply.expectOK("poll")
        let decoded = try reply.decode(ControllerClient.PollReply.self)
        if let token = decoded.access_token { worker.token = token }
        return decoded.job
    }

    /// `POST /api/workers/fail`, as ``ControllerClient/fail(_:build:)``.
    mutating func fail(_ worker: SimulatedWorker, build: String) async throws {
        try await send(.POST, "/api/workers/fail", token: worker.token, body: Self.failBody(build)).expectOK("fail")
    }

    /// The fail call's JSON. Build ids are `[A-Za-z0-9_-]` (the controller makes them), so a template needs no
    /// escaping; Foundation's JSONSerialization was a sixth of the generator's CPU here.
    static func failBody(_ build: String) -> ByteBuffer {
        guard build.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0)
            || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        else { return ControllerClient.json(["build_id": build, "error": "fac-loadgen: released at once"]) }
        return ByteBuffer(string: #"{"build_id":""# + build + #"","error":"fac-loadgen: released at once"}"#)
    }

    private mutating func send(
        _ method: HTTPMethod, _ uri: String, token: String, body: ByteBuffer?
    ) async throws -> ControllerClient.Reply {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "X-Worker-Token", value: token)
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        if let body {
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(body)), .end(nil)])
        } else {
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
        }
        var status: UInt = 0
        var collected = ByteBuffer()
        while let part = try await inbound.next() {
            switch part {
            case .head(let response):
                status = response.status.code
            case .body(var bytes):
                guard collected.readableBytes + bytes.readableBytes <= 1 << 20 else {
                    throw LoadGeneratorError("\(uri): answer over 1 MiB")
                }
                collected.writeBuffer(&bytes)
            case .end:
                return ControllerClient.Reply(status: status, body: collected)
            }
        }
        throw LoadGeneratorError("\(uri): the controller closed the connection mid-answer")
    }
}
