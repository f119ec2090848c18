import ArgumentParser
import Foundation
import Histogram

struct IdleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "N workers holding a long-poll at once on an empty queue, for S seconds (the script reads the server's RSS and CPU).")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Simulated workers.") var workers: Int = 1000
    @Option(help: "How long the workers hold their long-polls.") var seconds: Int = 30
    @Option(name: .customLong("ready-file"), help: "Created once every worker has sent its first long-poll.")
    var readyFile: String?

    func validate() throws {
        guard (1...10_000).contains(workers), (1...3600).contains(seconds) else {
            throw ValidationError("--workers must be 1-10000 and --seconds 1-3600")
        }
    }

    struct Result: Codable {
        var mode = "idle"
        var controllers: Int
        var workers: Int
        var seconds: Double
        var polls: Int
        var jobs: Int
        var errors: Int
        var firstError: String?
    }

    func run() async throws {
        let (workers, seconds, readyFile) = (workers, seconds, readyFile)
        let result = try await connection.withClients(connections: workers + 32) { clients in
            note("idle: registering \(workers) workers")
            let registered = try await RunSteps.register(clients, count: workers, prefix: "idle")
            let started = ContinuousClock.now
            let deadline = started + .seconds(seconds)
            let outcome = await withTaskGroup(of: WorkerOutcome.self) { group in
                for (controller, worker) in registered {
                    let client = clients[controller]
                    group.addTask {
                        var worker = worker
                        var outcome = WorkerOutcome()
                        while !Task.isCancelled, outcome.errors < WorkerOutcome.errorLimit {
                            let left = Int((deadline - ContinuousClock.now).seconds.rounded(.down))
                            guard left >= 1 else { break }
                            do {
                                outcome.polls += 1
                                if let job = try await client.poll(&worker, wait: min(left, 60)) {
                                    // Someone queued a build meanwhile: give it back failed, count it.
                                    outcome.ledger.record(job.id)
                                    try await client.fail(worker, build: job.id)
                                }
                            } catch {
                                outcome.failed(error)
                                try? await Task.sleep(for: .milliseconds(200))
                            }
                        }
                        return outcome
                    }
                }
                if let readyFile {
                    // The client sends all polls within a moment; give them time to reach the server.
                    try? await Task.sleep(for: .seconds(2))
                    _ = FileManager.default.createFile(atPath: readyFile, contents: Data("ready\n".utf8))
                }
                var all = WorkerOutcome()
                for await outcome in group { all.merge(outcome) }
                return all
            }
            return Result(
                controllers: clients.count, workers: workers, seconds: rounded((ContinuousClock.now - started).seconds, 2),
                polls: outcome.polls, jobs: outcome.ledger.total, errors: outcome.errors, firstError: outcome.firstError)
        }
        try report(result, summary: [
            "idle: \(result.workers) workers long-polling for \(result.seconds) s: \(result.polls) polls, \(result.jobs) jobs, errors \(result.errors)"
                + (result.firstError.map { " (first: \($0))" } ?? "")
        ])
    }
}
