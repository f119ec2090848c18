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
        try await send(.GET, "/api/workers/poll?wait=\(wait)", as: worker, body: nil).job(rotating: &worker)
    }

    /// `POST /api/workers/fail`, as ``ControllerClient/fail(_:build:)``.
    mutating func fail(_ worker: SimulatedWorker, build: String) async throws {
        try await send(.POST, "/api/workers/fail", as: worker, body: ControllerClient.failBody(build)).expectOK("fail")
    }

    private mutating func send(
        _ method: HTTPMethod, _ uri: String, as worker: SimulatedWorker, body: ByteBuffer?
    ) async throws -> ControllerClient.Reply {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: worker.header.0, value: worker.header.1)
        if let body {
            headers.add(name: ControllerClient.jsonType.0, value: ControllerClient.jsonType.1)
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
