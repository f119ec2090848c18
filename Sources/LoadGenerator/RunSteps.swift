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
