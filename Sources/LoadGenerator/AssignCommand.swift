import ArgumentParser
import Foundation
import Histogram

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
    @Option(help: """
        Paced (open loop): claims per second offered, all workers together, on a timetable fixed in advance (one \
        slot per build, 1/rate apart, dealt round-robin to the workers); latency counts from each slot's due time. \
        Without it the run is closed loop: each worker polls again as soon as it has released its build.
        """)
    var rate: Double?

    func validate() throws {
        guard (1...5000).contains(workers), (1...200_000).contains(builds) else {
            throw ValidationError("--workers must be 1-5000 and --builds 1-200000")
        }
        guard (1...16).contains(submitConcurrency), (0...60).contains(wait), (0...60_000).contains(startDelayMs) else {
            throw ValidationError("--submit-concurrency must be 1-16, --wait 0-60 and --start-delay-ms 0-60000")
        }
        if let rate, PacedSchedule(rate: rate, count: builds, workers: workers) == nil {
            throw ValidationError("--rate must be above 0 and at most 100000 claims/s (it was \(rate))")
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
        /// Paced runs only: the offered rate, and the latency split into the controller's part and the generator's.
        var rate: Double?
        /// Sent → answer received (`latencyMs` of a paced run counts from the slot's due time instead).
        var serviceMs: LatencySummary?
        /// Due → sent: how far the generator fell behind its timetable.
        var sendLagMs: LatencySummary?
    }

    func run() async throws {
        let (workers, builds, wait, submitConcurrency, verify) = (workers, builds, wait, submitConcurrency, verify)
        let (readyFile, doneFile, startDelay) = (readyFile, doneFile, Duration.milliseconds(startDelayMs))
        let rate = rate
        let result = try await connection.withClients(connections: workers + 32) { clients in
            note("assign: submitting \(builds) builds")
            let (ids, submitSeconds) = try await RunSteps.submitQueue(clients[0], count: builds, concurrency: submitConcurrency)
            note("assign: \(builds) builds in \(rounded(submitSeconds, 2)) s; registering \(workers) workers on \(clients.count) controller(s)")
            let registered = try await RunSteps.register(clients, count: workers, prefix: "assign")
            if let readyFile { _ = FileManager.default.createFile(atPath: readyFile, contents: Data("ready\n".utf8)) }
            try await Task.sleep(for: startDelay)
            var paced: PacedRecorder?
            let started: ContinuousClock.Instant
            let outcome: WorkerOutcome
            if let rate, let schedule = PacedSchedule(rate: rate, count: builds, workers: registered.count) {
                started = ContinuousClock.now + .milliseconds(200)
                note("assign: paced, \(rate) claims/s offered for \(rounded(schedule.length.seconds, 1)) s")
                (outcome, paced) = await Self.runPaced(registered, clients, schedule: schedule, start: started, wait: wait)
            } else {
                started = ContinuousClock.now
                outcome = await Self.runClosedLoop(registered, clients, wait: wait)
            }
            let seconds = ((outcome.lastAssignment ?? ContinuousClock.now) - started).seconds
            if let doneFile { _ = FileManager.default.createFile(atPath: doneFile, contents: Data("done\n".utf8)) }
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
                latencyMs: LatencySummary(paced?.latency ?? outcome.latency), duplicated: outcome.ledger.duplicated.count,
                missing: outcome.ledger.missing(from: ids).count, foreign: outcome.ledger.foreign(to: expected).count,
                errors: outcome.errors, firstError: outcome.firstError, verdict: verdict, rate: rate,
                serviceMs: paced.map { LatencySummary($0.service) }, sendLagMs: paced.map { LatencySummary($0.sendLag) })
        }
        try report(result, summary: [
            "assign: \(result.workers) workers on \(result.controllers) controller(s), \(result.claims) claims in \(result.seconds) s = \(result.claimsPerSecond) claims/s",
            (result.rate.map { "paced at \($0) claims/s offered; latency from each slot's due time: " } ?? "assignment latency: ")
                + result.latencyMs.text,
            "duplicated \(result.duplicated), never assigned \(result.missing), foreign \(result.foreign), errors \(result.errors)"
                + (result.firstError.map { " (first: \($0))" } ?? ""),
        ] + [result.serviceMs.map { "sent → answer: \($0.text)" }, result.sendLagMs.map { "due → sent: \($0.text)" }].compactMap { $0 }
          + (result.verdict.map { ["API check: \($0.ok ? "ok" : "FAILED") \($0)"] } ?? []))
    }

    /// One claim: a poll, and the build it brings released at once, both counted in `outcome`. Returns when the
    /// poll was sent and its job received; `nil` when the poll found nothing.
    static func cycle(
        _ connection: inout WorkerConnection, _ worker: inout SimulatedWorker, wait: Int, _ outcome: inout WorkerOutcome
    ) async throws -> (sent: ContinuousClock.Instant, received: ContinuousClock.Instant)? {
        let sent = ContinuousClock.now
        outcome.polls += 1
        guard let job = try await connection.poll(&worker, wait: wait) else { return nil }
        let received = ContinuousClock.now
        outcome.ledger.record(job.id)
        outcome.lastAssignment = received
        try await connection.fail(worker, build: job.id)
        outcome.completed += 1
        return (sent, received)
    }

    /// Each worker polls again as soon as it has released its build: `workers` requests always in flight.
    static func runClosedLoop(
        _ registered: [(Int, SimulatedWorker)], _ clients: [ControllerClient], wait: Int
    ) async -> WorkerOutcome {
        await RunSteps.runWorkers(registered, clients) { client, worker in
            var worker = worker
            var outcome = WorkerOutcome()
            do {
                try await WorkerConnection.with(client.base, group: client.eventLoopGroup) { connection in
                    while !Task.isCancelled, outcome.errors < WorkerOutcome.errorLimit {
                        do {
                            // Nothing after `wait` seconds: the queue is drained, this worker is done.
                            guard let (sent, received) = try await cycle(&connection, &worker, wait: wait, &outcome)
                            else { break }
                            LatencySummary.record(received - sent, into: &outcome.latency)
                        } catch {
                            outcome.failed(error)
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                    }
                }
            } catch {
                outcome.failed(error)
            }
            return outcome
        }
    }

    /// Each worker polls at its slots of `schedule` (sleeping until a slot is due, or at once when behind it),
    /// and releases each build before its next slot. One slot, one claim: a slot whose poll finds nothing or
    /// fails is counted, not retried.
    static func runPaced(
        _ registered: [(Int, SimulatedWorker)], _ clients: [ControllerClient], schedule: PacedSchedule,
        start: ContinuousClock.Instant, wait: Int
    ) async -> (WorkerOutcome, PacedRecorder) {
        await withTaskGroup(of: (WorkerOutcome, PacedRecorder).self) { group in
            for (index, (controller, worker)) in registered.enumerated() {
                let client = clients[controller]
                group.addTask {
                    var worker = worker
                    var outcome = WorkerOutcome()
                    var recorder = PacedRecorder()
                    do {
                        // Connected before the first slot (start is 200 ms away): no claim pays for a handshake.
                        try await WorkerConnection.with(client.base, group: client.eventLoopGroup) { connection in
                            for slot in schedule.slots(ofWorker: index) {
                                guard !Task.isCancelled, outcome.errors < WorkerOutcome.errorLimit else { break }
                                let due = start + schedule.offset(ofSlot: slot)
                                if due > ContinuousClock.now { try? await Task.sleep(until: due, tolerance: .microseconds(100)) }
                                do {
                                    guard let (sent, received) = try await cycle(&connection, &worker, wait: wait, &outcome)
                                    else {
                                        outcome.failed(LoadGeneratorError("slot \(slot): the poll found no build"))
                                        continue
                                    }
                                    recorder.record(due: due, sent: sent, received: received)
                                } catch {
                                    outcome.failed(error)
                                }
                            }
                        }
                    } catch {
                        outcome.failed(error)
                    }
                    return (outcome, recorder)
                }
            }
            var all = WorkerOutcome()
            var recorder = PacedRecorder()
            for await (outcome, paced) in group {
                all.merge(outcome)
                recorder.merge(paced)
            }
            return (all, recorder)
        }
    }
}
