public import Prometheus
import CoreMetrics
import Metrics

/// The process's metrics backend: swift-metrics, bootstrapped once with a Prometheus registry that
/// `GET /metrics` renders.
///
/// The Gateway and the Orchestrator record through the swift-metrics API (`Counter`, `Timer`, `Gauge`), so
/// the backend is chosen here and nowhere else.
public enum Observability {
    /// The registry every metric of this process lands in.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped: Bool = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Builds take minutes to hours and wait in the queue for seconds to hours: the request buckets
        // (5 ms … 10 s) would put every one of them in +Inf.
        let long: [Duration] = [
            .seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
            .seconds(600), .seconds(1200), .seconds(1800), .seconds(3600), .seconds(7200),
        ]
        factory.durationHistogramBuckets["fac_build_duration_seconds"] = long
        factory.durationHistogramBuckets["fac_assignment_latency_seconds"] =
            [.milliseconds(100), .milliseconds(500)] + long
        MetricsSystem.bootstrap(factory)
        return true
    }()

    /// Makes swift-metrics record into ``registry``. Idempotent; the Gateway calls it when it builds its router.
    public static func bootstrapMetrics() {
        _ = bootstrapped
    }
}
