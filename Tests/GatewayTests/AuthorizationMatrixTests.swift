import Crypto
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Orchestrator
import PostgresNIO
import Synchronization
import Testing

/// Every route of the route table × every kind of credential a client can send, checked against what the table
/// declares the route accepts (`Route.accepts`) and the contract's rules of precedence.
///
/// The expected outcome is derived from the table, never listed per route: a route added to the table is driven
/// through every credential at once, and the router may not serve a route the table does not declare.
@Suite struct AuthorizationMatrixTests {
    typealias F = GatewayFixture

    /// What a client can present.
    enum Credential: String, CaseIterable, Sendable {
        case none, malformed, wrongAPIKey, apiKey
        case buildTokenOfThisBuild, buildTokenOfAnotherBuild
        case workerTokenOfTheAssignedWorker, workerTokenOfAnotherWorker, expiredWorkerToken, revokedWorkerToken
        case legacyWorkerIDWithKey, legacyWorkerIDWithoutKey
        case vmTokenOfThisBuild, vmTokenOfAnotherBuild, expiredVMToken
        case otpAlreadyUsed
    }

    /// The status class a cell must get: a refusal by status, or "let through" (whatever the handler then says
    /// about the request itself: 2xx, or 400/404/409 for its content or state, never 401, 403, 429 or 5xx).
    enum Outcome: Equatable, CustomStringConvertible {
        case letThrough, unauthorized, forbidden
        var description: String {
            switch self {
            case .letThrough: "let through"
            case .unauthorized: "401"
            case .forbidden: "403"
            }
        }
    }

    /// The kinds read from request headers (the others come in a body or a cookie).
    static let headerKinds: Set<CredentialKind> = [.apiKey, .buildToken, .worker, .vmToken, .heartbeatToken]
    /// Worker routes whose build is named in the body rather than the path.
    static let bodyNamedBuildRoutes: Set<String> = [
        "/api/workers/upload", "/api/workers/result", "/api/workers/fail", "/api/workers/heartbeat", "/api/workers/abandon",
    ]
    /// The contract's one worker route that takes only a worker token (or the API key with that worker's recently
    /// expired token), never the API key plus an id: `POST /api/workers/unregister`.
    static let tokenOnlyWorkerRoutes: Set<String> = ["POST /api/workers/unregister"]
    /// Routes whose body is multipart/form-data.
    static let multipartRoutes: Set<String> = [
        "POST /api/builds/submit", "POST /api/builds", "POST /api/workers/upload", "POST /api/workers/result",
        "POST /api/builds/:id/artifact",
    ]

    /// The outcome the table and the contract's precedence rules demand.
    static func expected(_ route: Route, _ credential: Credential) -> Outcome {
        let accepts = route.accepts
        let key = "\(route.method.rawValue) \(route.path)"
        guard !accepts.isEmpty else { return .letThrough }
        let worker = accepts.contains(.worker)
        let namesBuild = route.path.hasPrefix("/api/builds/:id") || bodyNamedBuildRoutes.contains(route.path)
        switch credential {
        case .none:
            return .unauthorized
        case .malformed:
            // A worker token, where read, alone decides (401); any other credential header the route reads that
            // is not even shaped like one of ours is a wrong credential (403); a route that reads none of them
            // (OTP, dashboard session) got nothing it accepts (401).
            if worker { return .unauthorized }
            return accepts.isDisjoint(with: headerKinds) ? .unauthorized : .forbidden
        case .wrongAPIKey:
            return accepts.contains(.apiKey) || worker ? .forbidden : .unauthorized
        case .apiKey, .legacyWorkerIDWithKey:
            if accepts.contains(.apiKey) { return .letThrough }
            if worker { return tokenOnlyWorkerRoutes.contains(key) ? .unauthorized : .letThrough }
            return .unauthorized
        case .buildTokenOfThisBuild:
            return accepts.contains(.buildToken) ? .letThrough : .unauthorized
        case .buildTokenOfAnotherBuild:
            return accepts.contains(.buildToken) ? .forbidden : .unauthorized
        case .workerTokenOfTheAssignedWorker:
            return worker ? .letThrough : .unauthorized
        case .workerTokenOfAnotherWorker:
            return worker ? (namesBuild ? .forbidden : .letThrough) : .unauthorized
        case .expiredWorkerToken, .revokedWorkerToken, .legacyWorkerIDWithoutKey:
            return .unauthorized
        case .vmTokenOfThisBuild:
            return accepts.contains(.vmToken) ? .letThrough : .unauthorized
        case .vmTokenOfAnotherBuild:
            return accepts.contains(.vmToken) ? .forbidden : .unauthorized
        case .expiredVMToken:
            return .unauthorized
        case .otpAlreadyUsed:
            // Sent in the body and, as a confused VM would, as `X-VM-Token`: spent on `authenticate`, a wrong
            // VM token where one is read.
            return accepts.contains(.otp) ? .unauthorized : accepts.contains(.vmToken) ? .forbidden : .unauthorized
        }
    }

    /// A build assigned to a worker whose VM holds a VM token, a second such build, and one worker of each
    /// other kind; every secret the cells need.
    struct World: Sendable {
        let build: String, buildToken: String
        let otherBuild: String, otherBuildToken: String
        let worker: (id: String, token: String)
        let otherWorker: (id: String, token: String)
        let expiredWorker: (id: String, token: String)
        let revokedWorker: (id: String, token: String)
        let vmToken: String, otherVMToken: String, expiredVMToken: String
        let usedOTP: String

        static func make(_ f: GatewayFixture) async throws -> World {
            let (build, buildToken) = try await f.submit(certs: true)
            let (otherBuild, otherBuildToken) = try await f.submit(certs: true)
            let worker = try await f.registerWorker()
            let otherWorker = try await f.registerWorker()
            // Oldest first: the first worker gets the first build.
            let otp = try await Self.poll(f, worker.token, expecting: build)
            let otherOTP = try await Self.poll(f, otherWorker.token, expecting: otherBuild)
            let vmToken = try await Self.exchange(f, build, otp)
            let otherVMToken = try await Self.exchange(f, otherBuild, otherOTP)
            // A VM token of this very build and attempt that has expired.
            let expiredVMToken = String(repeating: "e", count: 43)
            let digest = Array(SHA256.hash(data: Array(expiredVMToken.utf8)))
            try await f.orchestrator.client.query("""
                INSERT INTO vm_tokens (digest, build_id, attempt, kind, issued_at, expires_at)
                VALUES (\(ByteBuffer(bytes: digest)), \(build), 1, 'vm', now() - interval '2 hours', now() - interval '1 hour')
                """)
            let expiredWorker = try await f.registerWorker()
            try await f.setTokenExpiry(of: expiredWorker.id, secondsFromNow: -60)
            let revokedWorker = try await f.registerWorker()
            let revoked = try await f.request(.delete, "/api/workers/\(revokedWorker.id)", headers: F.key)
            try #require(revoked.status == .ok)
            return World(
                build: build, buildToken: buildToken, otherBuild: otherBuild, otherBuildToken: otherBuildToken, worker: worker,
                otherWorker: otherWorker, expiredWorker: expiredWorker, revokedWorker: revokedWorker, vmToken: vmToken,
                otherVMToken: otherVMToken, expiredVMToken: expiredVMToken, usedOTP: otp)
        }

        private static func poll(_ f: GatewayFixture, _ token: String, expecting build: String) async throws -> String {
            let response = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(token))
            let job = try #require(try response.object()["job"] as? [String: Any])
            try #require(job["id"] as? String == build)
            return try #require(job["otp"] as? String)
        }

        private static func exchange(_ f: GatewayFixture, _ build: String, _ otp: String) async throws -> String {
            let response = try await f.json(.post, "/api/builds/\(build)/authenticate", ["otp": otp])
            return try #require(try response.object()["vm_token"] as? String)
        }
    }

    /// The headers and the extra body fields of one cell.
    static func present(_ credential: Credential, _ w: World) -> (headers: HTTPFields, body: [String: String]) {
        let apiKey = HTTPField.Name("X-API-Key")!, buildToken = HTTPField.Name("X-Build-Token")!
        let workerToken = HTTPField.Name("X-Worker-Token")!, workerID = HTTPField.Name("X-Worker-Id")!
        let vmToken = HTTPField.Name("X-VM-Token")!
        switch credential {
        case .none: return ([:], [:])
        case .malformed:
            // Not shaped like any token of ours (too long), in every credential header and as the OTP.
            let bad = String(repeating: "!", count: 300)
            return ([apiKey: bad, buildToken: bad, workerToken: bad, vmToken: bad, workerID: w.worker.id], ["otp": "not an otp!"])
        case .wrongAPIKey: return ([apiKey: String(repeating: "k", count: 43)], [:])
        case .apiKey: return ([apiKey: F.apiKey], [:])
        case .buildTokenOfThisBuild: return ([buildToken: w.buildToken], [:])
        case .buildTokenOfAnotherBuild: return ([buildToken: w.otherBuildToken], [:])
        case .workerTokenOfTheAssignedWorker: return ([workerToken: w.worker.token], [:])
        case .workerTokenOfAnotherWorker: return ([workerToken: w.otherWorker.token], [:])
        case .expiredWorkerToken: return ([workerToken: w.expiredWorker.token], [:])
        case .revokedWorkerToken: return ([workerToken: w.revokedWorker.token], [:])
        case .legacyWorkerIDWithKey: return ([apiKey: F.apiKey, workerID: w.worker.id], [:])
        case .legacyWorkerIDWithoutKey: return ([workerID: w.worker.id], [:])
        case .vmTokenOfThisBuild: return ([vmToken: w.vmToken], [:])
        case .vmTokenOfAnotherBuild: return ([vmToken: w.otherVMToken], [:])
        case .expiredVMToken: return ([vmToken: w.expiredVMToken], [:])
        case .otpAlreadyUsed: return ([vmToken: w.usedOTP], ["otp": w.usedOTP])
        }
    }

    /// The route's path with this world's ids, and a body that names this world's build.
    static func request(for route: Route, _ credential: Credential, _ w: World) throws -> (path: String, headers: HTTPFields, body: [UInt8]) {
        let path = route.path.replacingOccurrences(of: "/api/workers/:id", with: "/api/workers/\(w.worker.id)")
            .replacingOccurrences(of: ":id", with: w.build).replacingOccurrences(of: ":type", with: "source")
            .replacingOccurrences(of: ":worker_id", with: w.worker.id)
        var (headers, extra) = present(credential, w)
        if multipartRoutes.contains("\(route.method.rawValue) \(route.path)") {
            var form = MultipartBody()
            form.field("build_id", w.build)
            form.field("worker_id", w.worker.id)
            form.field("platform", "ios")
            form.field("success", "false")
            form.field("error_message", "matrix")
            form.file("source", filename: "project.zip", ZipBuilder.source())
            headers[.contentType] = form.contentType
            return (path, headers, form.finished())
        }
        var object: [String: Any] = [
            "build_id": w.build, "level": "info", "message": "matrix", "error": "matrix", "reason": "matrix",
            "name": "matrix", "capabilities": ["platforms": ["ios"]],
        ]
        for (name, value) in extra { object[name] = value }
        headers[.contentType] = "application/json"
        return (path, headers, Array(try JSONSerialization.data(withJSONObject: object)))
    }

    @Test func everyRoute_timesEveryCredential_getsTheStatusTheTableDeclares() async throws {
        // Which routes exist comes from the table (and the router built from it); the table needs a gateway.
        let collected = RouteList()
        try await F.run { f in
            let table = f.gateway.routeTable()
            collected.routes.withLock { $0 = table }
            let served = Set(f.gateway.makeRouter().routes.map { "\($0.method.rawValue) \($0.path)" })
            // The router spells a capture `{id}` where the table writes `:id`.
            let declared = Set(table.map { route in
                let path = route.path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
                    segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                }.joined(separator: "/")
                return "\(route.method.rawValue) \(path)"
            })
            #expect(served.subtracting(declared).sorted() == [], "routes the router serves without a table entry")
            #expect(declared.subtracting(served).sorted() == [], "table entries the router does not serve")
            #expect(declared.count == table.count, "a route is declared twice")
        }
        let table = collected.routes.withLock { $0 }
        try #require(!table.isEmpty)
        // Each route gets a world of its own: a cell that cancels, fails or revokes cannot change the next route's
        // answers. Cells of one route run in order; their outcome class does not depend on what earlier cells did.
        let routes = table.map { ($0.method, $0.path) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func addRoute() {
                guard next < routes.count else { return }
                let (method, path) = routes[next]
                next += 1
                group.addTask { try await Self.drive(method: method, path: path) }
            }
            for _ in 0..<3 { addRoute() }
            while try await group.next() != nil { addRoute() }
        }
    }

    /// The `error` of a JSON error body; `nil` for anything else (without recording an issue).
    static func errorMessage(_ response: TestResponse) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        return object?["error"] as? String
    }

    private static func drive(method: HTTPRequest.Method, path: String) async throws {
        try await F.run { f in
            let route = try #require(f.gateway.routeTable().first { $0.method == method && $0.path == path })
            let world = try await World.make(f)
            for credential in Credential.allCases {
                let (concrete, headers, body) = try request(for: route, credential, world)
                let response = try await f.request(route.method, concrete, headers: headers, body: body)
                let want = expected(route, credential)
                let cell = "\(route.method.rawValue) \(route.path) × \(credential.rawValue)"
                let error = Self.errorMessage(response)
                let detail = "\(response.status.code) \(error ?? "")"
                switch want {
                case .unauthorized: #expect(response.status == .unauthorized, "\(cell): want 401, got \(detail)")
                case .forbidden: #expect(response.status == .forbidden, "\(cell): want 403, got \(detail)")
                case .letThrough:
                    let refused: Set<Int> = [401, 403, 429]
                    #expect(!refused.contains(response.status.code) && response.status.code < 500, "\(cell): want let through, got \(detail)")
                }
                // The API answers JSON errors; the dashboard's pages may answer HTML.
                if response.status.code >= 400, route.path.hasPrefix("/api/") {
                    #expect(error != nil, "\(cell): an error without {\"error\"}")
                }
            }
        }
    }
}

/// The table, carried out of the fixture that built it.
private final class RouteList: Sendable {
    let routes = Mutex<[Route]>([])
}
