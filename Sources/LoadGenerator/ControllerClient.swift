import AsyncHTTPClient
import Foundation
import Identifiers
import NIOCore
import NIOHTTP1

/// A failed call or a refused setting; the message names the call and the status, never a credential.
struct LoadGeneratorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One call per controller endpoint the simulated CLI and workers use (the contract's shapes, nothing more).
struct ControllerClient: Sendable {
    let http: HTTPClient
    let base: LoopbackURL
    let apiKey: String
    /// How long one call may take before it counts as an error (a long-poll adds its own wait).
    let callTimeout: TimeAmount

    /// The event loops of ``http``, for connections of their own (``WorkerConnection``).
    var eventLoopGroup: any EventLoopGroup { http.eventLoopGroup }

    struct Reply: Sendable {
        let status: UInt
        let body: ByteBuffer

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        }

        /// A poll's answer: its job, or `nil`; keeps the token the controller hands back (it rotates).
        func job(rotating worker: inout SimulatedWorker) throws -> Job? {
            try expectOK("poll")
            let decoded = try decode(PollReply.self)
            if let token = decoded.access_token { worker.token = token }
            return decoded.job
        }

        /// Fails unless the reply is 200, with the endpoint and the server's own `error` text.
        func expectOK(_ what: String) throws {
            guard status == 200 else {
                let text = String(buffer: body).prefix(200)
                throw LoadGeneratorError("\(what): HTTP \(status) \(text)")
            }
        }
    }

    /// Sends one request and reads the whole answer (answers are small; source downloads are 426 bytes).
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil,
        extraTime: TimeAmount = .zero
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: base.appending(path))
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await http.execute(request, timeout: callTimeout + extraTime)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: response.status.code, body: bytes)
    }

    private static func json(_ object: [String: Any]) -> ByteBuffer {
        // Only literal dictionaries of strings and numbers are passed: serialization cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }

    private var keyHeader: (String, String) { ("X-API-Key", apiKey) }
    static let jsonType = ("Content-Type", "application/json")

    // MARK: the CLI

    struct Submitted: Decodable { let id: String }

    /// `POST /api/builds/submit`: the tiny Android project; returns the new build's id.
    func submit() async throws -> String {
        var form = MultipartForm()
        form.field("platform", "android")
        form.file("source", filename: "project.zip", contentType: "application/zip", Fixtures.source)
        let reply = try await send(
            .POST, "/api/builds/submit", headers: [keyHeader, ("Content-Type", form.contentType)], body: form.finished())
        try reply.expectOK("submit")
        return try reply.decode(Submitted.self).id
    }

    struct BuildRecord: Decodable {
        let id: String
        let status: String
        let attempt: Int
    }

    /// `GET /api/builds/:id`: the true status and the attempt count.
    func build(_ id: String) async throws -> BuildRecord {
        let reply = try await send(.GET, "/api/builds/\(id)", headers: [keyHeader])
        try reply.expectOK("show build")
        return try reply.decode(BuildRecord.self)
    }

    struct LogLines: Decodable {
        struct Line: Decodable { let message: String }
        let logs: [Line]
    }

    /// `GET /api/builds/:id/logs`: every line, oldest first.
    func logs(_ id: String) async throws -> [String] {
        let reply = try await send(.GET, "/api/builds/\(id)/logs", headers: [keyHeader])
        try reply.expectOK("logs")
        return try reply.decode(LogLines.self).logs.map(\.message)
    }

    // MARK: a worker

    struct Registered: Decodable {
        let id: String
        let access_token: String
    }

    /// `POST /api/workers/register` (API key): a new worker that takes any platform.
    func register(name: String) async throws -> SimulatedWorker {
        let reply = try await send(
            .POST, "/api/workers/register", headers: [keyHeader, Self.jsonType],
            body: Self.json(["name": name, "capabilities": ["platforms": ["ios", "android"]]]))
        try reply.expectOK("register")
        let registered = try reply.decode(Registered.self)
        return SimulatedWorker(id: registered.id, token: registered.access_token)
    }

    struct Job: Decodable {
        let id: String
        let source_url: String
    }

    struct PollReply: Decodable {
        let job: Job?
        let access_token: String?
    }

    /// `GET /api/workers/poll?wait=` (worker token): the job, or `nil` after `wait` seconds of an empty queue.
    /// Keeps the token the controller hands back (it rotates).
    func poll(_ worker: inout SimulatedWorker, wait: Int) async throws -> Job? {
        let reply = try await send(
            .GET, "/api/workers/poll?wait=\(wait)", headers: [worker.header], extraTime: .seconds(Int64(wait)))
        return try reply.job(rotating: &worker)
    }

    /// `POST /api/workers/fail`: the quickest way a worker finishes a build (it no longer holds it).
    func fail(_ worker: SimulatedWorker, build: String) async throws {
        let reply = try await send(
            .POST, "/api/workers/fail", headers: [worker.header, Self.jsonType], body: Self.failBody(build))
        try reply.expectOK("fail")
    }

    /// The fail call's JSON. Build ids are `[A-Za-z0-9_-]` (the controller makes them), so a template needs no
    /// escaping; Foundation's JSONSerialization was a sixth of the assignment loop's CPU.
    static func failBody(_ build: String) -> ByteBuffer {
        guard BuildID(build) != nil else { return json(["build_id": build, "error": "fac-loadgen: released at once"]) }
        return ByteBuffer(string: #"{"build_id":""# + build + #"","error":"fac-loadgen: released at once"}"#)
    }

    /// `GET source_url` (worker token): the source bytes, checked against what was submitted.
    func fetchSource(_ worker: SimulatedWorker, job: Job) async throws {
        let reply = try await send(.GET, job.source_url, headers: [worker.header])
        try reply.expectOK("source")
        guard reply.body.readableBytesView.elementsEqual(Fixtures.source) else {
            throw LoadGeneratorError("source: \(reply.body.readableBytes) bytes that differ from the submitted ZIP")
        }
    }

    /// `POST /api/builds/:id/heartbeat?worker_id=` with progress: the build moves to `building`.
    func heartbeat(_ worker: SimulatedWorker, build: String, progress: Int) async throws {
        let reply = try await send(
            .POST, "/api/builds/\(build)/heartbeat?worker_id=\(worker.id)", headers: [worker.header, Self.jsonType],
            body: Self.json(["progress": progress]))
        try reply.expectOK("heartbeat")
    }

    /// `POST /api/builds/:id/logs`: one line.
    func log(_ worker: SimulatedWorker, build: String, _ message: String) async throws {
        let reply = try await send(
            .POST, "/api/builds/\(build)/logs", headers: [worker.header, Self.jsonType],
            body: Self.json(["level": "info", "message": message]))
        try reply.expectOK("logs")
    }

    /// `POST /api/workers/upload` multipart: success with the small result file; the build is completed.
    func upload(_ worker: SimulatedWorker, build: String) async throws {
        var form = MultipartForm()
        form.field("build_id", build)
        form.field("worker_id", worker.id)
        form.field("success", "true")
        form.file("result", filename: "app.apk", contentType: "application/zip", Fixtures.result)
        let reply = try await send(
            .POST, "/api/workers/upload", headers: [worker.header, ("Content-Type", form.contentType)],
            body: form.finished())
        try reply.expectOK("upload")
    }
}

/// A registered worker: its id and its current token (rotated by the controller on polls).
struct SimulatedWorker: Sendable {
    let id: String
    var token: String
    var header: (String, String) { ("X-Worker-Token", token) }
}
