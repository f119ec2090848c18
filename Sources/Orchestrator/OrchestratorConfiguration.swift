/// Timings and policies of the queue. Every value comes from configuration; none is a literal in a query.
public struct OrchestratorConfiguration: Sendable {
    /// How builds are matched to workers' declared platforms.
    public enum PlatformMatching: String, Sendable, CaseIterable {
        /// Any worker may take any build (the newest worker declares `["ios"]` yet builds Android too).
        case any
        /// `capabilities.platforms` filters what a worker is given; a worker without the list takes anything.
        case strict
    }

    public static let workerTokenTTLDefault: Duration = .seconds(900)
    public static let buildHeartbeatTimeoutDefault: Duration = .seconds(180)
    public static let workerOfflineAfterDefault: Duration = .seconds(120)
    public static let maxBuildDurationDefault: Duration = .seconds(7200)
    public static let maxAttemptsDefault = 3
    public static let sweepIntervalDefault: Duration = .seconds(15)
    public static let otpTTLDefault: Duration = .seconds(1800)
    public static let assignmentLeaseDefault: Duration = .seconds(1800)
    /// A worker may unregister with a token that expired at most this long ago (the newest worker's token has
    /// often lapsed by then, because it does not poll while it builds).
    public static let expiredTokenUnregisterGrace: Duration = .seconds(86_400)

    /// Lifetime of a worker token. Defaults to 900 s. A token is rotated when less than a third is left.
    public var workerTokenTTL: Duration = Self.workerTokenTTLDefault
    /// After the first heartbeat, each heartbeat renews the lease for this long. Defaults to 180 s.
    public var buildHeartbeatTimeout: Duration = Self.buildHeartbeatTimeoutDefault
    /// A worker not heard from for this long is shown offline (it keeps a build whose lease is live).
    /// Defaults to 120 s.
    public var workerOfflineAfter: Duration = Self.workerOfflineAfterDefault
    /// An attempt running longer than this fails, heartbeats or not. Defaults to 7200 s.
    public var maxBuildDuration: Duration = Self.maxBuildDurationDefault
    /// Attempts a build gets, the first included, before a lapsed lease fails it. Defaults to 3.
    public var maxAttempts: Int = Self.maxAttemptsDefault
    /// How often the sweeper looks for lapsed leases. Defaults to 15 s.
    public var sweepInterval: Duration = Self.sweepIntervalDefault
    /// How long a VM's one-time password stays usable. Defaults to 1800 s.
    public var otpTTL: Duration = Self.otpTTLDefault
    /// The lease of a fresh assignment, until its first heartbeat or vm-ready. Defaults to 1800 s.
    public var assignmentLease: Duration = Self.assignmentLeaseDefault
    /// Defaults to ``PlatformMatching/any``.
    public var platformMatching: PlatformMatching = .any
    /// The `NOTIFY` channel that wakes long-polls on every controller process. Defaults to `fac_queue`.
    public var notificationChannel: String = "fac_queue"

    public init() {}

    /// Checks the cross-field rules once, at start-up.
    public func validate() throws(OrchestratorError) {
        func positive(_ value: Duration, _ name: String) throws(OrchestratorError) {
            guard value > .zero else { throw .invalidConfiguration("\(name) must be positive") }
        }
        try positive(workerTokenTTL, "WORKER_TOKEN_TTL_SECONDS")
        try positive(buildHeartbeatTimeout, "BUILD_HEARTBEAT_TIMEOUT_SECONDS")
        try positive(workerOfflineAfter, "WORKER_OFFLINE_AFTER_SECONDS")
        try positive(maxBuildDuration, "MAX_BUILD_DURATION_SECONDS")
        try positive(sweepInterval, "SWEEP_INTERVAL_SECONDS")
        try positive(otpTTL, "OTP_TTL_SECONDS")
        try positive(assignmentLease, "ASSIGNMENT_LEASE_SECONDS")
        guard maxAttempts >= 1 else { throw .invalidConfiguration("MAX_ATTEMPTS must be at least 1") }
        guard sweepInterval < buildHeartbeatTimeout else {
            throw .invalidConfiguration("SWEEP_INTERVAL_SECONDS must be shorter than BUILD_HEARTBEAT_TIMEOUT_SECONDS")
        }
        guard notificationChannel.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || ($0 >= 97 && $0 <= 122) }),
            !notificationChannel.isEmpty, notificationChannel.utf8.count < 60
        else { throw .invalidConfiguration("the notification channel must be lowercase letters and underscores") }
    }
}

extension Duration {
    /// The duration in seconds, fractions included: for interval arithmetic in SQL (`$n * interval '1 second'`)
    /// and for `Date` arithmetic.
    public var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
