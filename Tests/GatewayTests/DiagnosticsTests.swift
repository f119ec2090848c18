import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Testing

/// The worker app's self-diagnostics: it posts reports; the operator reads them back per worker.
@Suite struct DiagnosticsTests {
    typealias F = GatewayFixture

    private func report(_ worker: String, _ status: String, checks: [Any] = []) -> [String: Any] {
        ["worker_id": worker, "status": status, "duration_ms": 1250, "checks": checks]
    }

    @Test func reports_areListedNewestFirst_andTheLatestIsTheLastPosted() async throws {
        try await F.run { f in
            let check: [String: Any] = ["name": "disk", "status": "ok", "free_gb": 120]
            let first = try await f.json(.post, "/api/diagnostics/report", headers: F.key, report("mac-1", "healthy", checks: [check]))
            #expect(first.status == .ok)
            #expect(try first.object()["status"] as? String == "stored")
            try await Task.sleep(for: .milliseconds(5))  // run_at is in milliseconds
            var second = report("mac-1", "warning")
            second["auto_fixed"] = true
            let secondID = try await f.json(.post, "/api/diagnostics/report", headers: F.key, second).object()["id"] as? String
            try await f.json(.post, "/api/diagnostics/report", headers: F.key, report("mac-2", "critical"))

            let list = try await f.request(.get, "/api/diagnostics/mac-1", headers: F.key).object()
            #expect(list["worker_id"] as? String == "mac-1")
            let reports = try #require(list["reports"] as? [[String: Any]])
            #expect(reports.map { $0["status"] as? String } == ["warning", "healthy"])
            #expect(reports[0]["id"] as? String == secondID)
            #expect(reports[0]["auto_fixed"] as? Bool == true)
            #expect(reports[1]["auto_fixed"] as? Bool == false)
            #expect(reports[1]["duration_ms"] as? Int == 1250)
            #expect(reports[1]["run_at"] is Int)
            let checks = try #require(reports[1]["checks"] as? [[String: Any]])
            #expect(checks.first?["free_gb"] as? Int == 120)

            let limited = try await f.request(.get, "/api/diagnostics/mac-1?limit=1", headers: F.key).object()
            #expect((limited["reports"] as? [Any])?.count == 1)

            let latest = try await f.request(.get, "/api/diagnostics/mac-1/latest", headers: F.key).object()
            #expect(latest["id"] as? String == secondID)
            #expect(latest["worker_id"] as? String == "mac-1")
        }
    }

    @Test func aWorkerWithoutReports_hasAnEmptyList_andNoLatest() async throws {
        try await F.run { f in
            let list = try await f.request(.get, "/api/diagnostics/mac-9", headers: F.key).object()
            #expect(list["worker_id"] as? String == "mac-9")
            #expect((list["reports"] as? [Any])?.isEmpty == true)
            let latest = try await f.request(.get, "/api/diagnostics/mac-9/latest", headers: F.key)
            #expect(latest.status == .notFound)
            #expect(latest.errorMessage == "No diagnostic reports found")
        }
    }

    /// The list names the worker that was asked for, even one no worker can be: a client that follows the
    /// answer's `worker_id` (schemathesis does) must land on the same worker, not on `/api/diagnostics//latest`.
    @Test func anIdNoWorkerCanHave_isEchoedWithNoReports() async throws {
        try await F.run { f in
            let list = try await f.request(.get, "/api/diagnostics/%3Cnot%20a%20worker%3E", headers: F.key)
            #expect(list.status == .ok)
            let object = try list.object()
            #expect(object["worker_id"] as? String == "<not a worker>")
            #expect((object["reports"] as? [Any])?.isEmpty == true)
            let latest = try await f.request(.get, "/api/diagnostics/%3Cnot%20a%20worker%3E/latest", headers: F.key)
            #expect(latest.status == .notFound)
        }
    }

    @Test func badReportsAndLimits_are400_andStoreNothing() async throws {
        try await F.run { f in
            for bad: [String: Any] in [
                report("mac-1", "fine"),
                report("../mac", "healthy"),
                ["worker_id": "mac-1", "status": "healthy", "duration_ms": -1, "checks": []],
                ["worker_id": "mac-1", "status": "healthy", "duration_ms": 5, "checks": "disk ok"],
                ["worker_id": "mac-1", "status": "healthy", "checks": []],
            ] {
                let response = try await f.json(.post, "/api/diagnostics/report", headers: F.key, bad)
                #expect(response.status == .badRequest)
                #expect(response.errorMessage == "Invalid diagnostic report")
            }
            for limit in ["0", "-3", "ten"] {
                let response = try await f.request(.get, "/api/diagnostics/mac-1?limit=\(limit)", headers: F.key)
                #expect(response.status == .badRequest)
                #expect(response.errorMessage == "Invalid limit")
            }
            let list = try await f.request(.get, "/api/diagnostics/mac-1", headers: F.key).object()
            #expect((list["reports"] as? [Any])?.isEmpty == true)
            let anonymous = try await f.request(.get, "/api/diagnostics/mac-1")
            #expect(anonymous.status == .unauthorized)
        }
    }
}
