import ArgumentParser
import Foundation
import Histogram

struct EndToEndCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "Builds per minute through the real worker sequence (poll, source, heartbeat, logs, upload), then a check that every build completed exactly once.")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Simulated workers.") var workers: Int = 50
    @Option(help: "Builds submitted before the workers start.") var builds: Int = 1000
    @Option(name: .customLong("submit-concurrency"), help: "Submissions in flight (the controller allows 16 per credential).")
    var submitConcurrency: Int = 8
    @Option(help: "The ?wait= of each poll, in seconds (a poll that finds the queue empty ends the worker).")
    var wait: Int = 2

    func validate() throws {
        guard (1...5000).contains(workers), (1...100_000).contains(builds) else {
            throw ValidationError("--workers must be 1-5000 and --builds 1-100000")
        }
        guard (1...16).contains(submitConcurrency), (0...60).contains(wait) else {
            throw ValidationError("--submit-concurrency must be 1-16 and --wait 0-60")
        }
    }

    struct Result: Codable {
        var mode = "e2e"
        var controllers: Int
        var workers: Int
        var builds: Int
        var submitSeconds: Double
        var completed: Int
        var seconds: Double
        var buildsPerMinute: Double
        var latencyMs: LatencySummary
        var duplicated: Int
        var missing: Int
        var foreign: Int
        var errors: Int
        var firstError: String?
        var verdict: RunSteps.Verdict
        var ok: Bool
    }

    func run() async throws {
        let (workers, builds, wait, submitConcurrency) = (workers, builds, wait, submitConcurrency)
        let result = try await connection.withClients(connections: workers + 32) { clients in
            note("e2e: submitting \(builds) builds")
            let (ids, submitSeconds) = try await RunSteps.submitQueue(clients[0], count: builds, concurrency: submitConcurrency)
            note("e2e: \(builds) builds in \(rounded(submitSeconds, 2)) s; registering \(workers) workers")
            let registered = try await RunSteps.register(clients, count: workers, prefix: "e2e")
            let started = ContinuousClock.now
            let outcome = await RunSteps.runWorkers(registered, clients) { client, worker in
                var worker = worker
                var outcome = WorkerOutcome()
                while !Task.isCancelled, outcome.errors < WorkerOutcome.errorLimit {
                    do {
                        let sent = ContinuousClock.now
                        outcome.polls += 1
                        guard let job = try await client.poll(&worker, wait: wait) else { break }
                        LatencySummary.record(ContinuousClock.now - sent, into: &outcome.latency)
                        outcome.ledger.record(job.id)
                        try await client.fetchSource(worker, job: job)
                        try await client.heartbeat(worker, build: job.id, progress: 50)
                        try await client.log(worker, build: job.id, "fac-loadgen: building \(job.id)")
                        try await client.upload(worker, build: job.id)
                        outcome.completed += 1
                        outcome.lastAssignment = ContinuousClock.now
                    } catch {
                        outcome.failed(error)
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
                return outcome
            }
            let seconds = ((outcome.lastAssignment ?? ContinuousClock.now) - started).seconds
            note("e2e: \(outcome.completed) builds in \(rounded(seconds, 2)) s; checking each through the API")
            let verdict = try await RunSteps.verify(clients[0], builds: ids, status: "completed", countLogLines: true)
            let missing = outcome.ledger.missing(from: ids).count
            let duplicated = outcome.ledger.duplicated.count
            return Result(
                controllers: clients.count, workers: workers, builds: builds, submitSeconds: rounded(submitSeconds, 2),
                completed: outcome.completed, seconds: rounded(seconds, 3),
                buildsPerMinute: rounded(Double(outcome.completed) / max(seconds, 1e-6) * 60),
                latencyMs: LatencySummary(outcome.latency), duplicated: duplicated, missing: missing,
                foreign: outcome.ledger.foreign(to: Set(ids)).count, errors: outcome.errors,
                firstError: outcome.firstError, verdict: verdict,
                ok: verdict.ok && missing == 0 && duplicated == 0 && outcome.completed == builds)
        }
        try report(result, summary: [
            "e2e: \(result.workers) workers, \(result.completed)/\(result.builds) builds in \(result.seconds) s = \(result.buildsPerMinute) builds/min",
            "poll → job latency: \(result.latencyMs.text)",
            "duplicated \(result.duplicated), never assigned \(result.missing), errors \(result.errors)"
                + (result.firstError.map { " (first: \($0))" } ?? ""),
            "API check: \(result.verdict.ok ? "ok" : "FAILED") \(result.verdict)",
        ])
        if !result.ok { throw ExitCode(1) }
    }
}
