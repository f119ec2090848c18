import Foundation
import Orchestrator
import TestSupport
import Testing

@Suite struct LogAndStatsTests {
    @Test func logs_keepArrivalOrder_andTheCursorReturnsOnlyNewerLines() async throws {
        try await OrchestratorFixture.run { fixture in
            let build = try await fixture.submitBuild()
            let lines = (0..<150).map { (LogLevel.info, "line \($0)") }
            try await fixture.orchestrator.appendLogs(build: build, attempt: nil, lines: lines)
            let all = try await fixture.orchestrator.logs(build: build, after: nil)
            // "Build submitted" first, then every line in order: more than the old controller's 100.
            #expect(all.count == 151)
            #expect(all.dropFirst().map(\.message) == lines.map(\.1))
            let cursor = all[100].sequence
            let newer = try await fixture.orchestrator.logs(build: build, after: cursor)
            #expect(newer.map(\.message) == Array(all.dropFirst(101)).map(\.message))
        }
    }

    @Test func statistics_onAnEmptyDatabase_areZero() async throws {
        try await OrchestratorFixture.run { fixture in
            let figures = try await fixture.orchestrator.statistics()
            let publicFigures = try await fixture.orchestrator.publicStatistics()
            #expect(figures == BuildStatistics())
            #expect(publicFigures == PublicStatistics())
        }
    }

    @Test func publicStatistics_countRealBuilds() async throws {
        try await OrchestratorFixture.run { fixture in
            let done = try await fixture.submitBuild()
            try await fixture.submitBuild()
            let worker = try await fixture.registerWorker()
            let job = try #require(try await fixture.poll(worker))
            try await fixture.orchestrator.telemetry(build: done, attempt: job.attempt, cpuPercent: 200, memoryMB: 512)
            try await fixture.orchestrator.telemetry(build: done, attempt: job.attempt, cpuPercent: 5000, memoryMB: 1)
            try await fixture.orchestrator.complete(build: done, attempt: job.attempt) {
                ResultFile(size: 1, sha256: String(repeating: "b", count: 64))
            }
            let figures = try await fixture.orchestrator.publicStatistics()
            #expect(figures.nodesOnline == 1)
            #expect(figures.buildsQueued == 1)
            #expect(figures.activeBuilds == 0)
            #expect(figures.buildsToday == 1)
            #expect(figures.totalBuilds == 1)
            #expect(figures.totalBuildTimeMs >= 0)
        }
    }

    @Test func listBuilds_newestFirst_withPagingAndFilters() async throws {
        try await OrchestratorFixture.run { fixture in
            var ids: [String] = []
            for index in 0..<5 { ids.append(try await fixture.submitBuild(platform: index.isMultiple(of: 2) ? "ios" : "android")) }
            var query = BuildListQuery()
            query.limit = 2
            let page1 = try await fixture.orchestrator.listBuilds(query)
            #expect(page1.map(\.id) == [ids[4], ids[3]])
            query.before = page1.last?.id
            let page2 = try await fixture.orchestrator.listBuilds(query)
            #expect(page2.map(\.id) == [ids[2], ids[1]])
            var android = BuildListQuery()
            android.platform = "android"
            #expect(try await fixture.orchestrator.listBuilds(android).map(\.id) == [ids[3], ids[1]])
            var unknown = BuildListQuery()
            unknown.before = "nope"
            await #expect(throws: OrchestratorError.self) { try await fixture.orchestrator.listBuilds(unknown) }
        }
    }
}
