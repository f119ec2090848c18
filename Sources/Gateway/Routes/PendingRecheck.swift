import Synchronization

/// The held long-polls' periodic re-check, once per process and tick instead of once per long-poll.
///
/// NOTIFY wakes every long-poll at once when a build is queued; the re-check only catches a notification that was
/// missed (the listening connection broke and reconnected). Ticks are fixed on the clock (every `interval` from
/// the moment this object was made), so all long-polls of a process wake on the same tick; the first to ask runs
/// `ask` — one cheap `EXISTS (pending build)` — and every other long-poll of that tick shares its answer. Only
/// when it says yes do they try a claim (a full poll transaction each). With 1,000 idle workers that is one query
/// per tick, not 1,000 transactions.
final class PendingRecheck: Sendable {
    let interval: Duration
    private let origin: ContinuousClock.Instant
    private let current = Mutex<(tick: Int64, answer: Task<Bool, Never>)?>(nil)

    init(interval: Duration, origin: ContinuousClock.Instant = .now) {
        self.interval = max(interval, .milliseconds(1))
        self.origin = origin
    }

    /// The tick `instant` falls in (ticks start at `origin + tick × interval`).
    func tick(at instant: ContinuousClock.Instant) -> Int64 {
        Int64(((instant - origin) / interval).rounded(.down))
    }

    /// When the tick after the one `instant` falls in begins.
    func nextTick(after instant: ContinuousClock.Instant) -> ContinuousClock.Instant {
        origin + interval * (tick(at: instant) + 1)
    }

    /// Whether a build is pending, asked at most once per tick for the whole process: callers in the same tick
    /// share one run of `ask` (also while it is still running). A failed `ask` answers `true`, so the long-polls
    /// try their claim and meet the error (or the build) there, as before this re-check existed.
    func pendingBuildExists(
        at instant: ContinuousClock.Instant = .now, _ ask: @escaping @Sendable () async throws -> Bool
    ) async -> Bool {
        let tick = tick(at: instant)
        let answer = current.withLock { current -> Task<Bool, Never> in
            if let current, current.tick >= tick { return current.answer }
            let task = Task { (try? await ask()) ?? true }
            current = (tick, task)
            return task
        }
        return await answer.value
    }
}
