import Foundation
import Metrics

/// The Orchestrator's events as swift-metrics: counted in the process that made them (Prometheus sums the
/// processes). Without a bootstrapped `MetricsSystem` they go nowhere.
///
/// Names follow Prometheus conventions; the executable's backend keeps them as they are.
enum OrchestratorMetrics {
    /// A build was handed to a worker for its first attempt, `latency` after it was queued.
    static func firstAssignment(after latency: TimeInterval) {
        Metrics.Timer(label: "fac_assignment_latency_seconds").recordNanoseconds(nanoseconds(latency))
    }

    /// A build ran for `duration` (from its last assignment) and finished with `status`.
    static func buildFinished(status: BuildStatus, ranFor duration: TimeInterval?) {
        Counter(label: "fac_builds_finished_total", dimensions: [("status", status.rawValue)]).increment()
        guard let duration else { return }
        Metrics.Timer(label: "fac_build_duration_seconds", dimensions: [("status", status.rawValue)])
            .recordNanoseconds(nanoseconds(duration))
    }

    /// A lease lapsed: the sweeper re-queued the build or failed it.
    static func leaseExpired(requeued: Bool) {
        Counter(label: "fac_lease_expiries_total", dimensions: [("outcome", requeued ? "requeued" : "failed")])
            .increment()
    }

    /// A build went back to the queue (lease expiry, abandon, worker unregistered or revoked).
    static func requeued() {
        Counter(label: "fac_requeues_total").increment()
    }

    /// A sealed cert bundle was opened for a worker or VM.
    static func vaultOpened() {
        Counter(label: "fac_vault_opens_total").increment()
    }

    /// A sealed cert bundle was destroyed.
    static func vaultDestroyed() {
        Counter(label: "fac_vault_destructions_total").increment()
    }

    private static func nanoseconds(_ seconds: TimeInterval) -> Int64 {
        Int64((max(0, seconds) * 1_000_000_000).rounded())
    }
}
