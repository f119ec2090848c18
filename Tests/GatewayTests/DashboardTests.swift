import ArtifactStore
import CertVault
import Crypto
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identifiers
import Logging
import NIOCore
import Orchestrator
import PostgresNIO
import TestSupport
import Testing

/// One or two controller processes on one schema, wired as `serve` wires them: each with its own pool, its own
/// `QueueListener` feeding both the long-poll signal and the dashboard's change signal.
enum DashboardHarness {
    static func run(
        secondProcess: Bool = false,
        secondAPIKey: String = GatewayFixture.apiKey,
        gateway configureGateway: @escaping @Sendable (inout GatewayConfiguration) -> Void = { _ in },
        dashboard configure: @escaping @Sendable (inout DashboardConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (GatewayFixture, GatewayFixture?) async throws -> Void
    ) async throws {
        try await OrchestratorFixture.run { fixture in
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("fac-dash-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let store = try ArtifactStore(configuration: .init(root: root))
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let vault = CertVault(keyRing: try KeyRing.load(environmentValue: key, filePath: nil), storage: store)
            let logger = {
                var logger = Logger(label: "dashboard-test")
                logger.logLevel = .warning
                return logger
            }()

            @Sendable func process(
                _ orchestrator: Orchestrator, _ client: PostgresClient, apiKey: String = GatewayFixture.apiKey
            ) -> (Gateway, Application<RouterResponder<GatewayRequestContext>>) {
                var configuration = GatewayConfiguration(apiKey: apiKey)
                configuration.longPollRecheck = .milliseconds(200)
                configureGateway(&configuration)
                configure(&configuration.dashboard)
                let signal = QueueSignal()
                let changes = QueueSignal()
                let gateway = Gateway(
                    configuration: configuration, orchestrator: orchestrator, store: store, vault: vault,
                    queueSignal: signal, changeSignal: changes, logger: logger)
                var app = Application(
                    router: gateway.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    logger: logger)
                app.addServices(
                    QueueListener(
                        client: client, channel: orchestrator.configuration.notificationChannel, signal: signal,
                        changes: changes, logger: logger))
                return (gateway, app)
            }

            let (gatewayA, appA) = process(fixture.orchestrator, fixture.client)
            try await appA.test(.router) { clientA in
                let a = GatewayFixture(
                    client: clientA, gateway: gatewayA, orchestrator: fixture.orchestrator, storageRoot: root,
                    database: fixture.database)
                guard secondProcess else { return try await body(a, nil) }
                // A second "process": its own pool and listener on the same schema.
                try await TestDatabase.withClient(fixture.database.configuration, logger: logger) { clientDB in
                    let orchestratorB = Orchestrator(
                        client: clientDB, configuration: fixture.orchestrator.configuration, logger: logger)
                    let (gatewayB, appB) = process(orchestratorB, clientDB, apiKey: secondAPIKey)
                    try await appB.test(.router) { clientB in
                        let b = GatewayFixture(
                            client: clientB, gateway: gatewayB, orchestrator: orchestratorB, storageRoot: root,
                            database: fixture.database)
                        try await body(a, b)
                    }
                }
            }
        }
    }
}

extension GatewayFixture {
    /// Signs in through the form as a browser would; returns the session cookie's value.
    func signIn(headers extra: HTTPFields = [:]) async throws -> (cookie: String, response: TestResponse) {
        var headers = extra
        headers[.contentType] = "application/x-www-form-urlencoded"
        let response = try await request(
            .post, "/dashboard/sign-in", headers: headers, body: Array("api_key=\(Self.apiKey)".utf8))
        try #require(response.status == .seeOther, "sign-in answered \(response.status)")
        let setCookie = try #require(response.headers[.setCookie])
        let value = try #require(setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last)
        return (String(value), response)
    }

    static func session(_ cookie: String) -> HTTPFields { [.cookie: "fac_session=\(cookie)"] }

    /// The page's CSRF token, read from the sign-out form.
    static func csrfToken(in page: String) throws -> String {
        let marker = "name=\"csrf\" value=\""
        let start = try #require(page.range(of: marker)).upperBound
        let end = try #require(page[start...].firstIndex(of: "\""))
        return String(page[start..<end])
    }

    /// The `data` of every `snapshot` event in a collected event stream.
    static func snapshots(in stream: String) -> [String] {
        stream.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
            guard lines.contains("event: snapshot") else { return nil }
            return lines.filter { $0.hasPrefix("data: ") }.map { $0.dropFirst(6) }.joined(separator: "\n")
        }
    }
}

@Suite("Dashboard")
struct DashboardTests {
    @Test func root_withoutSession_showsTheSignInPageAndNothingElse() async throws {
        try await DashboardHarness.run { gw, _ in
            let (build, _) = try await gw.submit()
            let page = try await gw.request(.get, "/")
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains("action=\"/dashboard/sign-in\""))
            #expect(html.contains("type=\"password\""))
            #expect(!html.contains(build), "the sign-in page shows a build")
            #expect(!html.contains("Queue") && !html.contains("Workers") && !html.contains("Recent builds"))
            #expect(!html.contains("<script>") && !html.contains("style="), "inline script or style")
            let csp = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"))
            #expect(!csp.contains("unsafe-inline"))
            // A made-up cookie is no session.
            let forged = try await gw.request(.get, "/", headers: GatewayFixture.session(SecretToken.generate().reveal))
            #expect(!String(buffer: forged.body).contains(build))
            // Nor does the stream answer without a session.
            #expect(try await gw.request(.get, "/dashboard/events").status == .unauthorized)
        }
    }

    @Test func signIn_setsAnHttpOnlyStrictCookie_andTheDashboardShowsTheFarm() async throws {
        try await DashboardHarness.run { gw, _ in
            let (build, _) = try await gw.submit(platform: "android")
            let worker = try await gw.registerWorker()
            let (cookie, response) = try await gw.signIn()
            #expect(response.headers[.location] == "/")
            let setCookie = try #require(response.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly"))
            #expect(setCookie.contains("SameSite=Strict"))
            #expect(setCookie.contains("Path=/"))
            #expect(!setCookie.contains("Secure"), "Secure on plain HTTP would lose the cookie")

            let page = try await gw.request(.get, "/", headers: GatewayFixture.session(cookie))
            let html = String(buffer: page.body)
            #expect(page.status == .ok)
            #expect(html.contains("Sign out"))
            #expect(html.contains(build) && html.contains(worker.id))
            #expect(html.contains("Pending (1)"))
            #expect(html.contains("android"))
            #expect(html.contains("src=\"/dashboard/app.js\""))
            let js = try await gw.request(.get, "/dashboard/app.js")
            #expect(js.status == .ok && js.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(String(buffer: js.body).contains("EventSource"))

            // Only a digest is stored, never the token.
            let rows = try await gw.orchestrator.client.query("SELECT digest FROM dashboard_sessions")
            var digests: [[UInt8]] = []
            for try await digest in rows.decode(ByteBuffer.self) { digests.append(Array(digest.readableBytesView)) }
            #expect(digests.count == 1 && digests[0].count == 32)
            #expect(digests[0] != Array(SHA256.hash(data: Array(cookie.utf8))), "the digest is not bound to the API key")
            #expect(!String(decoding: digests[0], as: UTF8.self).contains(cookie))
        }
    }

    @Test func signIn_overTLS_marksTheCookieSecure_andAWrongKeyGetsNoCookie() async throws {
        try await DashboardHarness.run { gw, _ in
            let (_, response) = try await gw.signIn(headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(response.headers[.setCookie]?.contains("Secure") == true)

            let wrong = try await gw.request(
                .post, "/dashboard/sign-in", headers: [.contentType: "application/x-www-form-urlencoded"],
                body: Array("api_key=\(String(repeating: "x", count: 48))".utf8))
            #expect(wrong.status == .unauthorized)
            #expect(wrong.headers[.setCookie] == nil)
            #expect(String(buffer: wrong.body).contains("not right"))
            #expect(!String(buffer: wrong.body).contains(String(repeating: "x", count: 48)), "echoes the input")
        }
    }

    @Test func crossSiteForms_areRefused_andSignOutNeedsTheCSRFToken() async throws {
        try await DashboardHarness.run { gw, _ in
            // A sign-in posted from another site (login CSRF) gets no session.
            let crossSite = try await gw.request(
                .post, "/dashboard/sign-in",
                headers: [.contentType: "application/x-www-form-urlencoded", .origin: "https://evil.example"],
                body: Array("api_key=\(GatewayFixture.apiKey)".utf8))
            #expect(crossSite.status == .forbidden)
            #expect(crossSite.headers[.setCookie] == nil)
            let fetchSite = try await gw.request(
                .post, "/dashboard/sign-in",
                headers: [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("Sec-Fetch-Site")!: "cross-site"],
                body: Array("api_key=\(GatewayFixture.apiKey)".utf8))
            #expect(fetchSite.status == .forbidden)

            let (cookie, _) = try await gw.signIn()
            let session = GatewayFixture.session(cookie)
            let page = String(buffer: try await gw.request(.get, "/", headers: session).body)
            let csrf = try GatewayFixture.csrfToken(in: page)
            #expect(csrf.count >= 32)
            #expect(!page.contains(cookie), "the session token is in the page")

            var form = session
            form[.contentType] = "application/x-www-form-urlencoded"
            // No token, a wrong one, and another session's token are all refused, and the session lives on.
            for body in ["", "csrf=\(SecretToken.generate().reveal)"] {
                let refused = try await gw.request(.post, "/dashboard/sign-out", headers: form, body: Array(body.utf8))
                #expect(refused.status == .forbidden)
            }
            let (otherCookie, _) = try await gw.signIn()
            let otherPage = String(buffer: try await gw.request(.get, "/", headers: GatewayFixture.session(otherCookie)).body)
            let otherCSRF = try GatewayFixture.csrfToken(in: otherPage)
            #expect(otherCSRF != csrf)
            let swapped = try await gw.request(.post, "/dashboard/sign-out", headers: form, body: Array("csrf=\(otherCSRF)".utf8))
            #expect(swapped.status == .forbidden)
            #expect(String(buffer: try await gw.request(.get, "/", headers: session).body).contains("Sign out"))

            let signedOut = try await gw.request(.post, "/dashboard/sign-out", headers: form, body: Array("csrf=\(csrf)".utf8))
            #expect(signedOut.status == .seeOther)
            #expect(signedOut.headers[.setCookie]?.contains("Max-Age=0") == true)
            let after = String(buffer: try await gw.request(.get, "/", headers: session).body)
            #expect(after.contains("action=\"/dashboard/sign-in\""))
            #expect(!after.contains("Sign out"))
            #expect(try await gw.request(.get, "/dashboard/events", headers: session).status == .unauthorized)
        }
    }

    @Test func expiredSession_isTheSignInPage() async throws {
        try await DashboardHarness.run { gw, _ in
            let (cookie, _) = try await gw.signIn()
            try await gw.orchestrator.client.query("UPDATE dashboard_sessions SET expires_at = now() - interval '1 second'")
            let page = String(buffer: try await gw.request(.get, "/", headers: GatewayFixture.session(cookie)).body)
            #expect(page.contains("action=\"/dashboard/sign-in\""))
        }
    }

    @Test func stream_sendsAnUpdate_whenABuildIsSubmittedThroughTheSameProcess() async throws {
        try await DashboardHarness.run(dashboard: Self.eventDriven) { gw, _ in
            try await Self.expectLiveUpdate(watching: gw, submittingThrough: gw)
        }
    }

    @Test func stream_sendsAnUpdate_whenABuildIsSubmittedThroughAnotherProcess() async throws {
        try await DashboardHarness.run(secondProcess: true, dashboard: Self.eventDriven) { a, b in
            try await Self.expectLiveUpdate(watching: a, submittingThrough: try #require(b))
        }
    }

    @Test func stream_saysSignedOut_asSoonAsTheSessionEndsOnAnotherProcess() async throws {
        try await DashboardHarness.run(secondProcess: true, dashboard: Self.eventDrivenLongStream) { a, b in
            let b = try #require(b)
            let (cookie, _) = try await a.signIn()
            async let streamed = a.request(.get, "/dashboard/events", headers: GatewayFixture.session(cookie))
            try await Task.sleep(for: .seconds(1))
            // The same session signs out through the other process (another tab behind a load balancer).
            let page = String(buffer: try await b.request(.get, "/", headers: GatewayFixture.session(cookie)).body)
            var form = GatewayFixture.session(cookie)
            form[.contentType] = "application/x-www-form-urlencoded"
            let csrf = try GatewayFixture.csrfToken(in: page)
            #expect(try await b.request(.post, "/dashboard/sign-out", headers: form, body: Array("csrf=\(csrf)".utf8)).status == .seeOther)
            let started = ContinuousClock.now
            let body = String(buffer: try await streamed.body)
            #expect(body.contains("event: signed-out"))
            // Long before the stream's own end (a minute): the sign-out woke it, not its timer.
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }

    @Test func signIn_whenTheControllerServesTLS_marksTheCookieSecure() async throws {
        try await DashboardHarness.run(gateway: { $0.tlsCertificateFile = "/etc/fac/cert.pem"; $0.tlsKeyFile = "/etc/fac/key.pem" }) { gw, _ in
            let (_, response) = try await gw.signIn()
            #expect(response.headers[.setCookie]?.contains("Secure") == true)
        }
    }

    @Test func rotatingTheAPIKey_endsEverySession() async throws {
        // The second process is the controller restarted with a new CONTROLLER_API_KEY on the same database.
        let rotated = "rotated-key-0123456789abcdefghijklmnopqrstuvwxyz"
        try await DashboardHarness.run(secondProcess: true, secondAPIKey: rotated) { a, b in
            let b = try #require(b)
            let (cookie, _) = try await a.signIn()
            #expect(String(buffer: try await a.request(.get, "/", headers: GatewayFixture.session(cookie)).body).contains("Sign out"))
            let page = String(buffer: try await b.request(.get, "/", headers: GatewayFixture.session(cookie)).body)
            #expect(page.contains("action=\"/dashboard/sign-in\""))
            #expect(!page.contains("Sign out"))
        }
    }

    @Test func signIn_refusesAnOversizedForm() async throws {
        try await DashboardHarness.run { gw, _ in
            let response = try await gw.request(
                .post, "/dashboard/sign-in", headers: [.contentType: "application/x-www-form-urlencoded"],
                body: Array("api_key=\(String(repeating: "a", count: 5000))".utf8))
            #expect(response.status == .contentTooLarge)
            #expect(response.headers[.setCookie] == nil)
        }
    }

    @Test func pageAndStream_holdNoToken_keyOrCert() async throws {
        try await DashboardHarness.run(dashboard: { $0.streamMaxDuration = .milliseconds(300) }) { gw, _ in
            let (build, buildToken) = try await gw.submit(certs: true)
            let worker = try await gw.registerWorker()
            let poll = try await gw.request(.get, "/api/workers/poll", headers: GatewayFixture.workerToken(worker.token))
            let otp = try #require((try poll.object()["job"] as? [String: Any])?["otp"] as? String)
            let (cookie, _) = try await gw.signIn()
            let page = String(buffer: try await gw.request(.get, "/", headers: GatewayFixture.session(cookie)).body)
            let stream = String(buffer: try await gw.request(.get, "/dashboard/events", headers: GatewayFixture.session(cookie)).body)
            #expect(page.contains(build) && stream.contains(build), "the build should be shown")
            for secret in [GatewayFixture.apiKey, buildToken, worker.token, otp, cookie, ZipBuilder.certsPassword] {
                #expect(!page.contains(secret), "the page holds a secret")
                #expect(!stream.contains(secret), "the stream holds a secret")
            }
            for bytes in [ZipBuilder.p12Bytes, ZipBuilder.profileBytes] {
                let text = String(decoding: bytes, as: UTF8.self)
                #expect(!page.contains(text) && !stream.contains(text))
            }
        }
    }

    // MARK: Helpers

    /// Only notifications can wake the stream within the test: the periodic re-read is a minute away. The stream
    /// ends by itself after 10 s, ample for the test's steps even on a loaded CI machine.
    @Sendable static func eventDriven(_ settings: inout DashboardConfiguration) {
        settings.liveRefresh = .seconds(60)
        settings.streamMaxDuration = .seconds(10)
    }

    /// As ``eventDriven(_:)``, with a stream that would run for a minute unless something ends it.
    @Sendable static func eventDrivenLongStream(_ settings: inout DashboardConfiguration) {
        settings.liveRefresh = .seconds(60)
        settings.streamMaxDuration = .seconds(60)
    }

    /// Opens the stream on `watcher`, submits through `submitter` once the first snapshot is out, and expects a
    /// later snapshot (not the first) to show the new build.
    static func expectLiveUpdate(watching watcher: GatewayFixture, submittingThrough submitter: GatewayFixture) async throws {
        let (cookie, _) = try await watcher.signIn()
        async let streamed = watcher.request(.get, "/dashboard/events", headers: GatewayFixture.session(cookie))
        // The listener and the first snapshot are up well within this; a late first snapshot fails the test
        // below rather than passing it.
        try await Task.sleep(for: .seconds(1))
        let (build, _) = try await submitter.submit()
        let response = try await streamed
        #expect(response.status == .ok)
        #expect(response.headers[.contentType]?.hasPrefix("text/event-stream") == true)
        let snapshots = GatewayFixture.snapshots(in: String(buffer: response.body))
        try #require(snapshots.count >= 2, "expected a snapshot after the submit, got \(snapshots.count)")
        #expect(!snapshots[0].contains(build), "the first snapshot already had the build: the test proves nothing")
        #expect(snapshots.dropFirst().contains { $0.contains(build) && $0.contains("Pending (1)") })
    }
}
