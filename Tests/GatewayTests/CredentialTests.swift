import Foundation
import NIOCore
import Gateway
import HTTPTypes
import HummingbirdTesting
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
                #expect(anonymous.errorMessage != nil)
                var headers = wrongCredentials(for: route.accepts)
                headers[.contentType] = "application/json"
                let body = "{\"build_id\":\"\(build)\",\"otp\":\"\(String(repeating: "x", count: 43))\"}"
                let wrong = try await f.request(route.method, path, headers: headers, body: Array(body.utf8))
                // A wrong one-time password is answered like a spent one: 401 (the VM asks for a new one).
                let expected: HTTPResponse.Status = route.accepts == [.otp] ? .unauthorized : .forbidden
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
