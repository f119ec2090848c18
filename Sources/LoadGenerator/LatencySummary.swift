import Histogram

/// Percentiles of one run's latencies, in milliseconds, read off an HdrHistogram of microseconds.
struct LatencySummary: Codable, Equatable, Sendable {
    var count: UInt64
    var p50: Double
    var p90: Double
    var p99: Double
    var max: Double
    var mean: Double

    /// The histogram every worker records into: 1 µs to 10 minutes, three significant digits (0.1 % error).
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Records one latency; values beyond the histogram's range are clamped to its top (counted, not lost).
    static func record(_ duration: Duration, into histogram: inout Histogram<UInt64>) {
        let (seconds, attoseconds) = duration.components
        let micros = Swift.max(0, seconds) * 1_000_000 + Swift.max(0, attoseconds) / 1_000_000_000_000
        let value = UInt64(Swift.min(Swift.max(micros, 1), Int64(histogram.highestTrackableValue)))
        _ = histogram.record(value)
    }

    init(_ histogram: Histogram<UInt64>) {
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        count = histogram.totalCount
        guard count > 0 else {
            (p50, p90, p99, max, mean) = (0, 0, 0, 0, 0)
            return
        }
        p50 = ms(histogram.valueAtPercentile(50))
        p90 = ms(histogram.valueAtPercentile(90))
        p99 = ms(histogram.valueAtPercentile(99))
        max = ms(histogram.max)
        mean = (histogram.mean).rounded() / 1000
    }

    /// One line for people: `p50 1.2 ms, p90 …`.
    var text: String {
        "n \(count), p50 \(p50) ms, p90 \(p90) ms, p99 \(p99) ms, max \(max) ms"
    }
}
