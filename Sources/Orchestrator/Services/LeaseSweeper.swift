import AsyncAlgorithms
public import Logging
public import ServiceLifecycle

/// Runs ``Orchestrator/sweep(now:)`` every `SWEEP_INTERVAL_SECONDS` until graceful shutdown.
///
/// Extra periodic work (destroying certs past their grace, retention) hooks in through `alsoEachTick`, so
/// there is one timer and one place to read what happens periodically.
public struct LeaseSweeper: Service {
    let orchestrator: Orchestrator
    let logger: Logger
    let alsoEachTick: @Sendable () async -> Void

    public init(orchestrator: Orchestrator, logger: Logger, alsoEachTick: @escaping @Sendable () async -> Void = {}) {
        self.orchestrator = orchestrator
        self.logger = logger
        self.alsoEachTick = alsoEachTick
    }

    /// One sweep, logged; errors are logged and the next tick tries again.
    public func runOnce() async {
        do {
            let result = try await orchestrator.sweep()
            if result != SweepResult() {
                logger.info("sweep", metadata: [
                    "requeued": "\(result.requeued)", "failed_out_of_attempts": "\(result.failedOutOfAttempts)",
                    "failed_over_duration": "\(result.failedOverDuration)",
                ])
            }
        } catch {
            logger.error("sweep failed", metadata: ["error": "\(DatabaseErrorSummary.describe(error))"])
        }
        await alsoEachTick()
    }

    public func run() async throws {
        let ticks = AsyncTimerSequence(interval: orchestrator.configuration.sweepInterval, clock: .continuous)
            .cancelOnGracefulShutdown()
        await runOnce()
        for await _ in ticks { await runOnce() }
    }
}
