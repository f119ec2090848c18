import Crypto
import Foundation
import NIOCore
import Gateway
import HTTPTypes
import HummingbirdTesting
import Orchestrator
import PostgresNIO
import Testing

/// For every route: no credential → 401, a wrong one → 403, and the table covers every route.
@Suite struct CredentialTests {
    typealias F = GatewayFixture

    /// A path for the route with a real build id (and type) filled in.
    private func concrete(_ path: String, build: String) -> String {
        path.replacingOccurrences(of: ":id", with: build).replacingOccurrences(of: ":type", with: "result")
            .replacingOccurrences(of: ":worker_id", with: "some-worker")
    }

    /// The wrong value of each credential kind a route accepts.
    private func wrongCredentials(for kinds: Set<CredentialKind>) -> HTTPFields {
        var headers: HTTPFields = [:]
        let wrong = String(repeating: "x", count: 43)
        if kinds.contains(.apiKey) { headers[HTTPField.Name("X-API-Key")!] = wrong }
        if kinds.contains(.buildToken) { headers[HTTPField.Name("X-Build-Token")!] = wrong }
        if kinds.contains(.worker) {
            headers[HTTPField.Name("X-API-Key")!] = wrong
            headers[HTTPField.Name("X-Worker-Id")!] = "some-worker"
        }
        if kinds.contains(.vmToken) || kinds.contains(.heartbeatToken) { headers[HTTPField.Name("X-VM-Token")!] = wrong }
        return headers
    }

    @Test func everyRoute_withoutCredentials_is401_andWithWrongOnes_is403() async throws {
        try await F.run { f in
            let (build, _) = try await f.submit()
            for route in f.gateway.routeTable() where !route.accepts.isEmpty {
                let path = concrete(route.path, build: build)
                let anonymous = try await f.request(route.method, path, headers: [.contentType: "application/json"], body: Array("{}".utf8))
                #expect(anonymous.status == .unauthorized, "\(route.method) \(route.path) without credentials: \(anonymous.status)")
                // The API answers JSON errors; the dashboard's sign-in may answer its HTML form.
                if route.path.hasPrefix("/api/") { #expect(anonymous.errorMessage != nil) }
                var headers = wrongCredentials(for: route.accepts)
                headers[.contentType] = "application/json"
                let body = "{\"build_id\":\"\(build)\",\"otp\":\"\(String(repeating: "x", count: 43))\"}"
                let wrong = try await f.request(route.method, path, headers: headers, body: Array(body.utf8))
                // Routes that read no credential header (the OTP in a body, the dashboard's cookie) got nothing
                // they accept: 401, as a spent one-time password is (the VM asks for a new one).
                let headerKinds: Set<CredentialKind> = [.apiKey, .buildToken, .worker, .vmToken, .heartbeatToken]
                let expected: HTTPResponse.Status = route.accepts.isDisjoint(with: headerKinds) ? .unauthorized : .forbidden
                #expect(wrong.status == expected, "\(route.method) \(route.path) with wrong credentials: \(wrong.status)")
            }
        }
    }

    @Test func workerToken_aloneDecides_evenBesideAValidAPIKey() async throws {
        try await F.run { f in
            let bogus = F.workerToken(String(repeating: "y", count: 43)).merging(F.key)
            let response = try await f.request(.get, "/api/workers/poll?worker_id=whatever", headers: bogus)
            #expect(response.status == .unauthorized)
        }
    }

    @Test func apiKeyWithoutWorkerID_onAWorkerRoute_is400() async throws {
        try await F.run { f in
            let response = try await f.request(.get, "/api/workers/poll", headers: F.key)
            #expect(response.status == .badRequest)
            #expect(response.errorMessage == "worker_id required")
        }
    }

    @Test func unknownBuild_is404_onlyAfterAuthentication() async throws {
        try await F.run { f in
            let unknown = try await f.request(.get, "/api/builds/unknownBuild00000000/status", headers: F.key)
            #expect(unknown.status == .notFound)
            #expect(try await f.request(.get, "/api/builds/unknownBuild00000000/status", headers: F.buildToken(String(repeating: "z", count: 43))).status == .forbidden)
            #expect(try await f.request(.get, "/api/builds/..%2F..%2Fetc/status", headers: F.key).status == .notFound)
        }
    }

    @Test func anotherBuildsToken_orAnotherWorker_isRefused() async throws {
        try await F.run { f in
            let (first, _) = try await f.submit(certs: true)
            let (_, secondToken) = try await f.submit()
            #expect(try await f.request(.get, "/api/builds/\(first)/status", headers: F.buildToken(secondToken)).status == .forbidden)
            let holder = try await f.registerWorker()
            let stranger = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(holder.token))
            for path in ["source", "certs", "certs-secure"] {
                #expect(try await f.request(.get, "/api/builds/\(first)/\(path)", headers: F.workerToken(stranger.token)).status == .forbidden)
            }
            // The build token and the API key alone are no holder credentials.
            #expect(try await f.request(.get, "/api/builds/\(first)/certs", headers: F.key).status == .badRequest)
        }
    }

    @Test func unknownRoute_is404WithAJSONError() async throws {
        try await F.run { f in
            let response = try await f.request(.get, "/api/nothing-here")
            #expect(response.status == .notFound)
            #expect(response.errorMessage == "Not found")
        }
    }

    @Test func everyResponse_carriesARequestID_andASaneIncomingOneIsKept() async throws {
        try await F.run { f in
            let header = HTTPField.Name("X-Request-Id")!
            let ok = try await f.request(.get, "/health")
            let refused = try await f.request(.get, "/api/builds")
            let missing = try await f.request(.get, "/api/nothing-here")
            var ids: Set<String> = []
            for response in [ok, refused, missing] {
                let id = try #require(response.headers[header], "\(response.status) has no X-Request-Id")
                #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
                ids.insert(id)
            }
            #expect(ids.count == 3, "each request gets its own id")
            let kept = try await f.request(.get, "/api/builds", headers: [header: "proxy-req.42:a_b"])
            #expect(kept.headers[header] == "proxy-req.42:a_b")
            // Anything that could forge a log line or bloat it is replaced.
            for hostile in ["a b", "a\tb", "a/b", "a;b", String(repeating: "x", count: 129)] {
                let replaced = try await f.request(.get, "/health", headers: [header: hostile])
                #expect(replaced.headers[header] != hostile)
                #expect(replaced.headers[header]?.count == 32)
            }
        }
    }

    // MARK: Lifetimes and revocation

    /// The SHA-256 a token is stored under.
    private func digest(_ token: String) -> ByteBuffer { ByteBuffer(bytes: Array(SHA256.hash(data: Array(token.utf8)))) }

    @Test func revokingAWorker_refusesAllItsTokens_requeuesItsBuild_andTakesTheAPIKey() async throws {
        try await F.run(orchestrator: { $0.workerTokenTTL = .seconds(900) }) { f in
            let (build, _) = try await f.submit()
            let worker = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            // A second, rotated token: revocation must reach every token the worker holds, not just the newest.
            try await f.setTokenExpiry(of: worker.id, secondsFromNow: 100)
            let rotated = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            let fresh = try #require(rotated["access_token"] as? String)
            #expect(fresh != worker.token)

            #expect(try await f.request(.delete, "/api/workers/\(worker.id)").status == .unauthorized)
            #expect(try await f.request(.delete, "/api/workers/\(worker.id)", headers: F.workerToken(fresh)).status == .unauthorized)
            let revoked = try await f.request(.delete, "/api/workers/\(worker.id)", headers: F.key)
            #expect(revoked.status == .ok)
            #expect(try revoked.object()["builds_reassigned"] as? Int == 1)
            for token in [worker.token, fresh] {
                let refused = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(token))
                #expect(refused.status == .unauthorized)
            }
            let status = try await f.request(.get, "/api/builds/\(build)/status", headers: F.key).object()
            #expect(status["status"] as? String == "pending")
            let other = try await f.registerWorker()
            let job = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(other.token)).object()["job"] as? [String: Any]
            #expect(job?["id"] as? String == build)
            #expect(try await f.request(.delete, "/api/workers/unknownWorker000000000", headers: F.key).status == .notFound)
        }
    }

    @Test func operator_listsWorkersWithTheirLastSeenTime_andNoSecrets() async throws {
        try await F.run { f in
            let before = Int(Date().timeIntervalSince1970 * 1000) - 5_000
            let quiet = try await f.registerWorker()
            let busy = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(busy.token))
            #expect(try await f.request(.get, "/api/workers").status == .unauthorized)
            let response = try await f.request(.get, "/api/workers", headers: F.key)
            #expect(response.status == .ok)
            let workers = try #require(try response.object()["workers"] as? [[String: Any]])
            #expect(Set(workers.compactMap { $0["id"] as? String }) == [quiet.id, busy.id])
            for worker in workers {
                let lastSeen = try #require(worker["last_seen_at"] as? Int, "last_seen_at in ms")
                #expect(lastSeen >= before && lastSeen <= Int(Date().timeIntervalSince1970 * 1000) + 5_000)
            }
            let body = String(buffer: response.body)
            #expect(!body.contains(quiet.token) && !body.contains(busy.token))
        }
    }

    @Test func otp_worksOnce_andNotAfterItExpires() async throws {
        try await F.run { f in
            let (build, _) = try await f.submit()
            let worker = try await f.registerWorker()
            func otp() async throws -> String {
                let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
                return try #require((poll["job"] as? [String: Any])?["otp"] as? String)
            }
            let expired = try await otp()
            try await f.orchestrator.client.query(
                "UPDATE builds SET otp_expires_at = now() - interval '1 second' WHERE id = \(build)")
            #expect(try await f.json(.post, "/api/builds/\(build)/authenticate", ["otp": expired]).status == .unauthorized)
            let fresh = try await otp()
            #expect(try await f.json(.post, "/api/builds/\(build)/authenticate", ["otp": fresh]).status == .ok)
            #expect(try await f.json(.post, "/api/builds/\(build)/authenticate", ["otp": fresh]).status == .unauthorized)
        }
    }

    @Test func vmToken_isRefusedOnceItExpires() async throws {
        try await F.run { f in
            let (build, _) = try await f.submit(certs: true)
            let worker = try await f.registerWorker()
            let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            let otp = try #require((poll["job"] as? [String: Any])?["otp"] as? String)
            let vm = try #require(try await f.json(.post, "/api/builds/\(build)/authenticate", ["otp": otp]).object()["vm_token"] as? String)
            #expect(try await f.request(.get, "/api/builds/\(build)/certs-secure", headers: F.vmToken(vm)).status == .ok)
            try await f.orchestrator.client.query(
                "UPDATE vm_tokens SET expires_at = now() - interval '1 second' WHERE digest = \(digest(vm))")
            let refused = try await f.request(.get, "/api/builds/\(build)/certs-secure", headers: F.vmToken(vm))
            #expect(refused.status == .unauthorized)
            #expect(refused.errorMessage == "VM token expired")
        }
    }

    @Test func replacedWorkerToken_staysValidUntilItsOwnExpiry_thenIsRefused() async throws {
        try await F.run(orchestrator: { $0.workerTokenTTL = .seconds(900) }) { f in
            let worker = try await f.registerWorker()
            try await f.setTokenExpiry(of: worker.id, secondsFromNow: 200)
            let rotated = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            let fresh = try #require(rotated["access_token"] as? String)
            // The overlap: a worker that missed the reply carrying `fresh` still gets in with the old one.
            #expect(try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).status == .ok)
            try await f.orchestrator.client.query(
                "UPDATE worker_tokens SET expires_at = now() - interval '1 second' WHERE digest = \(digest(worker.token))")
            #expect(try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).status == .unauthorized)
            #expect(try await f.request(.get, "/api/workers/poll", headers: F.workerToken(fresh)).status == .ok)
        }
    }

    @Test func publicRoutes_answerWithoutCredentials_withCORS() async throws {
        try await F.run { f in
            let stats = try await f.request(.get, "/api/stats")
            #expect(stats.status == .ok)
            #expect(stats.headers[.accessControlAllowOrigin] == "*")
            let object = try stats.object()
            for key in ["nodesOnline", "buildsQueued", "activeBuilds", "buildsToday", "totalBuilds", "totalBuildTimeMs", "totalCpuCycles"] {
                #expect(object[key] as? Int == 0, "\(key)")
            }
            let health = try await f.request(.get, "/health")
            #expect(health.status == .ok)
            let body = try health.object()
            #expect(body["database"] as? String == "ok")
            #expect((body["storage"] as? [String: Any])?["backend"] as? String == "filesystem")
        }
    }
}
