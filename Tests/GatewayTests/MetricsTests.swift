import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Orchestrator
import Synchronization
import Testing

@Suite("Metrics and logs")
struct MetricsTests {
    @Test func metrics_needTheAPIKey_andCountRequestsByRoutePattern() async throws {
        try await DashboardHarness.run { gw, _ in
            #expect(try await gw.request(.get, "/metrics").status == .unauthorized)
            #expect(try await gw.request(.get, "/metrics", headers: [HTTPField.Name("X-API-Key")!: "nope"]).status == .forbidden)

            let (build, token) = try await gw.submit(platform: "android")
            for _ in 0..<3 {
                #expect(try await gw.request(.get, "/api/builds/\(build)/status", headers: GatewayFixture.buildToken(token)).status == .ok)
            }
            #expect(try await gw.request(.get, "/api/builds/\(build)/status").status == .unauthorized)
            _ = try await gw.request(.get, "/no/such/route")

            let scrape = try await gw.request(.get, "/metrics", headers: GatewayFixture.key)
            #expect(scrape.status == .ok)
            #expect(scrape.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: scrape.body)
            let status200 = try #require(
                Self.value(of: #"fac_http_requests_total{route="/api/builds/{id}/status",method="GET",status="200"}"#, in: text))
            #expect(status200 >= 3)
            #expect(Self.value(of: #"fac_http_requests_total{route="/api/builds/{id}/status",method="GET",status="401"}"#, in: text) ?? 0 >= 1)
            #expect(text.contains(#"fac_http_request_duration_seconds_bucket{route="/api/builds/{id}/status",method="GET",status="200""#))
            #expect(!text.contains(build), "a raw path (with its id) became a label")
            #expect(Self.value(of: #"fac_http_request_body_bytes_total{route="/api/builds/submit"}"#, in: text) ?? 0 > 0)
            #expect(Self.value(of: #"fac_http_response_body_bytes_total{route="/api/builds/{id}/status"}"#, in: text) ?? 0 > 0)
            // Read from this test's own schema at scrape time.
            #expect(Self.value(of: #"fac_queue_depth{platform="android"}"#, in: text) == 1)
            #expect(Self.value(of: #"fac_queue_depth{platform="ios"}"#, in: text) == 0)
            #expect(Self.value(of: #"fac_builds{status="pending"}"#, in: text) == 1)
            #expect(Self.value(of: "fac_database_up", in: text) == 1)
            #expect(Self.value(of: #"fac_http_requests_total{route="unmatched",method="GET",status="404"}"#, in: text) ?? 0 >= 1)
            #expect(!text.contains(GatewayFixture.apiKey) && !text.contains(token))
        }
    }

    @Test func metrics_countAssignmentsFinishedBuildsAndRequeues() async throws {
        try await DashboardHarness.run { gw, _ in
            let scrape = { String(buffer: try await gw.request(.get, "/metrics", headers: GatewayFixture.key).body) }
            let before = try await scrape()
            let assignedBefore = Self.value(of: "fac_assignment_latency_seconds_count", in: before) ?? 0
            let failedBefore = Self.value(of: #"fac_builds_finished_total{status="failed"}"#, in: before) ?? 0
            let requeuedBefore = Self.value(of: "fac_requeues_total", in: before) ?? 0
            let expiredBefore = Self.value(of: #"fac_lease_expiries_total{outcome="requeued"}"#, in: before) ?? 0
            let opensBefore = Self.value(of: "fac_vault_opens_total", in: before) ?? 0

            let (build, _) = try await gw.submit(certs: true)
            let worker = try await gw.registerWorker()
            let headers = GatewayFixture.workerToken(worker.token)
            #expect(try await gw.request(.get, "/api/workers/poll", headers: headers).status == .ok)
            #expect(try await gw.request(.get, "/api/builds/\(build)/certs", headers: headers).status == .ok)
            #expect(try await gw.json(.post, "/api/workers/abandon", headers: headers, ["build_id": build]).status == .ok)
            #expect(try await gw.request(.get, "/api/workers/poll", headers: headers).status == .ok)
            // The lease lapses, judged 45 minutes from now instead of waiting (past the 30-minute assignment
            // lease, within the 2-hour maximum duration): the sweeper re-queues the build.
            #expect(try await gw.orchestrator.sweep(now: Date().addingTimeInterval(45 * 60)).requeued == 1)
            #expect(try await gw.request(.get, "/api/workers/poll", headers: headers).status == .ok)
            #expect(try await gw.json(.post, "/api/workers/fail", headers: headers, ["build_id": build, "error": "boom"]).status == .ok)

            // Other suites run in the same process: compare increments, not absolute values.
            let after = try await scrape()
            #expect(Self.value(of: "fac_assignment_latency_seconds_count", in: after) ?? 0 >= assignedBefore + 1)
            #expect(Self.value(of: #"fac_builds_finished_total{status="failed"}"#, in: after) ?? 0 >= failedBefore + 1)
            #expect(Self.value(of: "fac_requeues_total", in: after) ?? 0 >= requeuedBefore + 2)
            #expect(Self.value(of: #"fac_lease_expiries_total{outcome="requeued"}"#, in: after) ?? 0 >= expiredBefore + 1)
            #expect(Self.value(of: "fac_vault_opens_total", in: after) ?? 0 >= opensBefore + 1)
            #expect(after.contains(#"fac_build_duration_seconds_bucket{status="failed",le="#))
        }
    }

    @Test func metricsPort_servesMetricsWithoutCredentials_andNothingElse() async throws {
        try await DashboardHarness.run { gw, _ in
            let app = Application(router: gw.gateway.makeMetricsRouter())
            try await app.test(.router) { client in
                let scrape = try await client.execute(uri: "/metrics", method: .get)
                #expect(scrape.status == .ok)
                #expect(String(buffer: scrape.body).contains("fac_queue_depth"))
                #expect(try await client.execute(uri: "/api/builds", method: .get).status == .notFound)
                #expect(try await client.execute(uri: "/", method: .get).status == .notFound)
            }
        }
    }

    @Test(arguments: LogFormat.allCases)
    func logLines_areOneLineEach_carryTheRequestID_andRedactSecrets(format: LogFormat) async throws {
        let lines = LineCollector()
        var handler = StructuredLogHandler(label: "fac", format: format)
        handler.sink = { lines.append($0) }
        var logger = Logger(label: "fac", factory: { _ in handler })
        logger[metadataKey: "request_id"] = "req-123"
        logger.info(
            "upload refused\nlevel=error msg=forged",
            metadata: ["build_id": "b1", "worker_id": "w1", "worker_token": "tok-SECRET", "vm_token": "vm-SECRET"])
        let line = try #require(lines.all.first)
        #expect(lines.all.count == 1)
        #expect(!line.contains("\n"), "a message broke the line")
        #expect(!line.contains("SECRET"))
        switch format {
        case .logfmt:
            #expect(line.contains("level=info"))
            #expect(line.contains("request_id=req-123"))
            #expect(line.contains("build_id=b1") && line.contains("worker_id=w1"))
            #expect(line.contains(#"msg="upload refused\nlevel=error msg=forged""#))
            #expect(line.contains("worker_token=[redacted]"))
        case .json:
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            #expect(object["level"] == "info")
            #expect(object["request_id"] == "req-123")
            #expect(object["build_id"] == "b1" && object["worker_id"] == "w1")
            #expect(object["msg"] == "upload refused\nlevel=error msg=forged")
            #expect(object["vm_token"] == "[redacted]")
            let ts = try #require(object["ts"])
            #expect(ISO8601DateFormatter().date(from: ts.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) != nil)
            #expect(ts.hasSuffix("Z"), "a time without its zone")
        }
    }

    @Test func requestLogLines_carryTheRequestIDAndTheBuildID() async throws {
        let lines = LineCollector()
        var handler = StructuredLogHandler(label: "fac", format: .logfmt)
        handler.sink = { lines.append($0) }
        handler.logLevel = .debug
        let logger = Logger(label: "fac", factory: { _ in handler })
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: LogContextMiddleware())
        router.get("/api/builds/:id/status") { _, context in
            context.logger.info("inside the handler")
            return "ok"
        }
        let app = Application(router: router, logger: logger)
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: "/api/builds/b-123/status", method: .get, headers: [RequestIDMiddleware.header: "abc-42"])
            #expect(response.status == .ok)
            // A path segment that is not an id never reaches the logs.
            _ = try await client.execute(uri: "/api/builds/%0Aforged=1/status", method: .get)
        }
        let line = try #require(lines.all.first { $0.contains("inside the handler") })
        #expect(line.contains("request_id=abc-42"))
        #expect(line.contains("build_id=b-123"))
        #expect(!lines.all.contains { $0.contains("forged") })
    }

    // MARK: Helpers

    /// The value of one sample line `name{labels} value`.
    static func value(of sample: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }
}

/// Collects log lines from a handler's sink.
final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
