/// Where a build is in its life. Each case says who moves a build out of it, and when.
public enum BuildStatus: String, Sendable, CaseIterable, Codable {
    /// In the queue. Left by a worker's claim (→ ``assigned``) or a cancel (→ ``cancelled``).
    case pending
    /// Claimed by a worker for one attempt; its lease is the long assignment lease. Left by the first heartbeat
    /// or telemetry (→ ``building``), an upload (→ ``completed``/``failed``), abandon, unregister or lease expiry
    /// (→ ``pending``, or ``failed`` once the attempts are used up), or a cancel.
    case assigned
    /// The worker's VM is building; every heartbeat renews the short lease. Left as ``assigned`` is.
    case building
    /// Finished with a result. Final.
    case completed
    /// Finished without one: reported by the worker, or out of attempts, or over the maximum duration. Final.
    case failed
    /// Stopped by the submitter or an operator. Final; never handed out again.
    case cancelled

    /// A finished build never changes state again.
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
    /// Held by a worker under a lease.
    public var isActive: Bool { self == .assigned || self == .building }

    /// The five values the CLI parses: a cancelled build reads as `failed`, as the old controller stored it.
    public var legacyValue: String { self == .cancelled ? BuildStatus.failed.rawValue : rawValue }
}

/// The build lifecycle as a pure value: which events are allowed from which status, and where they lead.
///
/// The queries enforce the same rules with guarded updates (`WHERE status IN (...)`) and the schema with
/// CHECKs; this type is the readable statement of them, tested without a database.
public struct BuildStateMachine: Sendable, Equatable {
    /// Something that happens to a build.
    public enum Event: Sendable, Equatable {
        case claim
        case heartbeat
        case complete
        case fail
        case cancel
        /// Abandon, unregister, re-registration with no active build, or a lapsed lease with attempts left.
        case requeue
        /// A lapsed lease on the last attempt, or the maximum duration exceeded.
        case exhaust
    }

    /// What the caller must do about an event.
    public enum Action: Sendable, Equatable {
        /// Move to the new status.
        case transition(to: BuildStatus)
        /// Allowed, but nothing changes (a heartbeat while building).
        case none
        /// Refused: the build is finished (or cancelled) and stays as it is.
        case rejectFinished(BuildStatus)
        /// Refused: the event makes no sense in this status (e.g. a heartbeat for a pending build).
        case rejectNotActive
    }

    public private(set) var status: BuildStatus

    public init(status: BuildStatus) { self.status = status }

    /// Applies `event`, changing ``status`` when the action is a transition.
    public mutating func handle(_ event: Event) -> Action {
        let action = Self.action(for: event, from: status)
        if case .transition(let next) = action { status = next }
        return action
    }

    static func action(for event: Event, from status: BuildStatus) -> Action {
        if status.isFinished { return .rejectFinished(status) }
        switch (event, status) {
        case (.claim, .pending): return .transition(to: .assigned)
        case (.cancel, _): return .transition(to: .cancelled)
        case (.heartbeat, .assigned): return .transition(to: .building)
        case (.heartbeat, .building): return .none
        case (.complete, _) where status.isActive: return .transition(to: .completed)
        case (.fail, _) where status.isActive: return .transition(to: .failed)
        case (.requeue, _) where status.isActive: return .transition(to: .pending)
        case (.exhaust, _) where status.isActive: return .transition(to: .failed)
        default: return .rejectNotActive
        }
    }
}
