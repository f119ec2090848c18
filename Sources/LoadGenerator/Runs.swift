import ArgumentParser
import Foundation
import Histogram

/// What one simulated worker saw; the run merges them when every worker has stopped.
struct WorkerOutcome: Sendable {
    var ledger = AssignmentLedger()
    var latency = LatencySummary.makeHistogram()
    var completed = 0
    var polls = 0
    var errors = 0
    var firstError: String?
    var lastAssignment: ContinuousClock.Instant?

    /// A worker gives up after this many failed calls (the run then reports them).
    static let errorLimit = 20

    mutating func failed(_ error: any Error) {
        errors += 1
        if firstError == nil { firstError = String(describing: error) }
    }

    mutating func merge(_ other: WorkerOutcome) {
        ledger.merge(other.ledger)
        latency.add(other.latency)
        completed += other.completed
        polls += other.polls
        errors += other.errors
        firstError = firstError ?? other.firstError
        if let last = other.lastAssignment { lastAssignment = max(lastAssignment ?? last, last) }
    }
}

/// The steps every run shares: a queue of builds, registered workers, the check through the API afterwards.
enum RunSteps {
    /// Submits `count` tiny builds through the first controller, `concurrency` at a time (the controller allows
    /// 16 concurrent uploads per credential, and every CLI shares the API key's). Returns the ids and seconds.
    static func submitQueue(_ client: ControllerClient, count: Int, concurrency: Int) async throws -> ([String], Double) {
        let started = ContinuousClock.now
        let ids = try await concurrentMap(count, limit: concurrency) { _ in try await client.submit() }
        return (ids, (ContinuousClock.now - started).seconds)
    }

    /// Registers `count` workers, spread round-robin over the controllers; returns (controller index, worker).
    static func register(_ clients: [ControllerClient], count: Int, prefix: String) async throws -> [(Int, SimulatedWorker)] {
        try await concurrentMap(count, limit: 32) { index in
            let controller = index % clients.count
            return (controller, try await clients[controller].register(name: "\(prefix)-\(index)"))
        }
    }

    /// Runs one task per worker until each returns, and merges what they saw.
    static func runWorkers(
        _ workers: [(Int, SimulatedWorker)], _ clients: [ControllerClient],
        _ body: @escaping @Sendable (ControllerClient, SimulatedWorker) async -> WorkerOutcome
    ) async -> WorkerOutcome {
        await withTaskGroup(of: WorkerOutcome.self) { group in
            for (controller, worker) in workers {
                group.addTask { await body(clients[controller], worker) }
            }
            var all = WorkerOutcome()
            for await outcome in group { all.merge(outcome) }
            return all
        }
    }

    /// What the controller says about the run's builds afterwards: each must be in `status` after exactly one
    /// attempt, and (with `countLogLines`) carry exactly one "Build assigned" log line.
    struct Verdict: Codable, Sendable {
        var checked = 0
        var wrongStatus = 0
        var moreThanOneAttempt = 0
        var assignmentLinesNotOne = 0
        var errors = 0
        var ok: Bool { checked > 0 && wrongStatus == 0 && moreThanOneAttempt == 0 && assignmentLinesNotOne == 0 && errors == 0 }
    }

    static func verify(
        _ client: ControllerClient, builds: [String], status: String, countLogLines: Bool
    ) async throws -> Verdict {
        let rows = try await concurrentMap(builds.count, limit: 16) { index -> (Bool, Bool, Bool, Bool) in
            do {
                let record = try await client.build(builds[index])
                var lines = 1
                if countLogLines {
                    lines = try await client.logs(builds[index]).filter { $0.hasPrefix("Build assigned to worker") }.count
                }
                return (record.status == status, record.attempt > 1, lines != 1, false)
            } catch {
                return (false, false, false, true)
            }
        }
        var verdict = Verdict()
        for (statusOK, repeated, lines, failed) in rows {
            verdict.checked += 1
            if failed { verdict.errors += 1; continue }
            if !statusOK { verdict.wrongStatus += 1 }
            if repeated { verdict.moreThanOneAttempt += 1 }
            if lines { verdict.assignmentLinesNotOne += 1 }
        }
        return verdict
    }
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}

/// Rounds for the JSON line (figures, not noise).
func rounded(_ value: Double, _ digits: Int = 1) -> Double {
    let scale = pow(10, Double(digits))
    return (value * scale).rounded() / scale
}

// MARK: - assign

struct AssignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assign",
        abstract: "Claims per second and assignment latency: a deep queue, N workers polling, each build released at once.")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Simulated workers.") var workers: Int = 10
    @Option(help: "Builds submitted before the workers start (the deep queue).") var builds: Int = 1000
    @Option(name: .customLong("submit-concurrency"), help: "Submissions in flight (the controller allows 16 per credential).")
    var submitConcurrency: Int = 8
    @Option(help: "The ?wait= of each poll, in seconds (a poll that finds the queue empty ends the worker).")
    var wait: Int = 1
    @Flag(inversion: .prefixedNo, help: "Check every build through the API afterwards.") var verify = true
    @Option(name: .customLong("ready-file"), help: "Created when the queue is submitted and the workers registered.")
    var readyFile: String?
    @Option(name: .customLong("start-delay-ms"), help: "Pause between --ready-file and the first poll (time to attach a profiler).")
    var startDelayMs: Int = 0
    @Option(name: .customLong("done-file"), help: "Created when the last worker has stopped, before the check through the API.")
    var doneFile: String?

    func validate() throws {
        guard (1...5000).contains(workers), (1...200_000).contains(builds) else {
            throw ValidationError("--workers must be 1-5000 and --builds 1-200000")
        }
        guard (1...16).contains(submitConcurrency), (0...60).contains(wait), (0...60_000).contains(startDelayMs) else {
            throw ValidationError("--submit-concurrency must be 1-16, --wait 0-60 and --start-delay-ms 0-60000")
        }
    }

    struct Result: Codable {
        var mode = "assign"
        var controllers: Int
        var workers: Int
        var builds: Int
        var submitSeconds: Double
        var claims: Int
        var seconds: Double
        var claimsPerSecond: Double
        var latencyMs: LatencySummary
        var duplicated: Int
        var missing: Int
        var foreign: Int
        var errors: Int
        var firstError: String?
        var verdict: RunSteps.Verdict?
    }

    func run() async throws {
        let (workers, builds, wait, submitConcurrency, verify) = (workers, builds, wait, submitConcurrency, verify)
        let (readyFile, doneFile, startDelay) = (readyFile, doneFile, Duration.milliseconds(startDelayMs))
        let result = try await connection.withClients(connections: workers + 32) { clients in
            note("assign: submitting \(builds) builds")
            let (ids, submitSeconds) = try await RunSteps.submitQueue(clients[0], count: builds, concurrency: submitConcurrency)
            note("assign: \(builds) builds in \(rounded(submitSeconds, 2)) s; registering \(workers) workers on \(clients.count) controller(s)")
            let registered = try await RunSteps.register(clients, count: workers, prefix: "assign")
            if let readyFile { FileManager.default.createFile(atPath: readyFile, contents: Data("ready\n".utf8)) }
            try await Task.sleep(for: startDelay)
            let started = ContinuousClock.now
            let outcome = await RunSteps.runWorkers(registered, clients) { client, worker in
                var worker = worker
                var outcome = WorkerOutcome()
                while !Task.isCancelled, outcome.errors < WorkerOutcome.errorLimit {
                    do {
                        let sent = ContinuousClock.now
                        outcome.polls += 1
                        // Nothing after `wait` seconds: the queue is drained, this worker is done.
                        guard let job = try await client.poll(&worker, wait: wait) else { break }
                        let received = ContinuousClock.now
                        LatencySummary.record(received - sent, into: &outcome.latency)
                        outcome.ledger.record(job.id)
                        outcome.lastAssignment = received
                        try await client.fail(worker, build: job.id)
                        outcome.completed += 1
                    } catch {
                        outcome.failed(error)
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
                return outcome
            }
            let seconds = ((outcome.lastAssignment ?? ContinuousClock.now) - started).seconds
            if let doneFile { FileManager.default.createFile(atPath: doneFile, contents: Data("done\n".utf8)) }
            let expected = Set(ids)
            var verdict: RunSteps.Verdict?
            if verify {
                note("assign: checking \(ids.count) builds through the API")
                verdict = try await RunSteps.verify(clients[0], builds: ids, status: "failed", countLogLines: false)
            }
            return Result(
                controllers: clients.count, workers: workers, builds: builds, submitSeconds: rounded(submitSeconds, 2),
                claims: outcome.ledger.total, seconds: rounded(seconds, 3),
                claimsPerSecond: rounded(Double(outcome.ledger.total) / max(seconds, 1e-6)),
                latencyMs: LatencySummary(outcome.latency), duplicated: outcome.ledger.duplicated.count,
                missing: outcome.ledger.missing(from: ids).count, foreign: outcome.ledger.foreign(to: expected).count,
                errors: outcome.errors, firstError: outcome.firstError, verdict: verdict)
        }
        try report(result, summary: [
            "assign: \(result.workers) workers on \(result.controllers) controller(s), \(result.claims) claims in \(result.seconds) s = \(result.claimsPerSecond) claims/s",
            "assignment latency: \(result.latencyMs.text)",
            "duplicated \(result.duplicated), never assigned \(result.missing), foreign \(result.foreign), errors \(result.errors)"
                + (result.firstError.map { " (first: \($0))" } ?? ""),
        ] + (result.verdict.map { ["API check: \($0.ok ? "ok" : "FAILED") \($0)"] } ?? []))
    }
}

// MARK: - e2e

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

// MARK: - idle

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
                    FileManager.default.createFile(atPath: readyFile, contents: Data("ready\n".utf8))
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
