import Histogram

/// The send times of a paced (open-loop) `assign` run, fixed before the run starts.
///
/// `count` claims at `rate` per second in all: slot `i` is due `i / rate` seconds after the start, and the slots are
/// dealt round-robin to the workers (worker `k` has slots `k`, `k + W`, `k + 2W`, …), so each worker sends at
/// `rate / W` per second on its own fixed timetable. A slow answer does not push the timetable back: the next slot
/// is due when it was always due, and a worker that is behind sends at once.
struct PacedSchedule: Sendable, Equatable {
    /// Claims per second offered, all workers together.
    let rate: Double
    /// Slots (claims) in all.
    let count: Int
    let workers: Int

    init?(rate: Double, count: Int, workers: Int) {
        guard rate.isFinite, rate > 0, rate <= 100_000, count > 0, workers > 0 else { return nil }
        (self.rate, self.count, self.workers) = (rate, count, workers)
    }

    /// When slot `slot` is due, after the start. Computed from the slot number each time (never by adding up a
    /// rounded interval), so the timetable does not drift however long the run.
    func offset(ofSlot slot: Int) -> Duration {
        .nanoseconds(Int64((Double(slot) * 1e9 / rate).rounded()))
    }

    /// The slots of worker `worker` (0-based), in order.
    func slots(ofWorker worker: Int) -> StrideTo<Int> {
        stride(from: worker, to: count, by: workers)
    }

    /// From the first slot to the last.
    var length: Duration { offset(ofSlot: count - 1) }
}

/// What a paced run measures per claim, in three HdrHistograms:
///
/// - `latency`: due → answer received. The figure of an open-loop run: a request the generator sent late (because
///   the worker's previous call was slow, or the generator itself was) is charged from when it *should* have
///   gone, so a stall cannot hide its own queue (no coordinated omission).
/// - `service`: sent → answer received, the controller's time alone.
/// - `sendLag`: due → sent, how far behind its timetable the generator was.
struct PacedRecorder: Sendable {
    var latency = LatencySummary.makeHistogram()
    var service = LatencySummary.makeHistogram()
    var sendLag = LatencySummary.makeHistogram()

    mutating func record(due: ContinuousClock.Instant, sent: ContinuousClock.Instant, received: ContinuousClock.Instant) {
        LatencySummary.record(received - due, into: &latency)
        LatencySummary.record(received - sent, into: &service)
        LatencySummary.record(sent - due, into: &sendLag)
    }

    mutating func merge(_ other: PacedRecorder) {
        latency.add(other.latency)
        service.add(other.service)
        sendLag.add(other.sendLag)
    }
}
