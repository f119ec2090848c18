public import Foundation

/// The level of a build log line. `debug` is what telemetry and the old controller wrote.
public enum LogLevel: String, Sendable, CaseIterable, Codable {
    case debug, info, warn, error
}

/// One line of a build's log; ``sequence`` is its stable place in arrival order (the `after` cursor).
public struct LogLine: Sendable, Equatable {
    public let sequence: Int64
    public let timestamp: Date
    public let level: LogLevel
    public let message: String
}

/// The state of a build's signing certs.
public enum CertsState: String, Sendable, Codable {
    case none, sealed, destroyed
}

/// A build as stored.
public struct BuildRecord: Sendable {
    public let id: String
    public let status: BuildStatus
    public let platform: String
    public let workerID: String?
    public let workerName: String?
    public let submittedAt: Date
    public let startedAt: Date?
    public let completedAt: Date?
    public let errorMessage: String?
    public let attempt: Int
    public let leaseExpiresAt: Date?
    public let vmReadyAt: Date?
    public let sourceSize: Int64?
    public let sourceSHA256: String?
    public let resultSize: Int64?
    public let resultSHA256: String?
    public let artifactsPurgedAt: Date?
    public let certsState: CertsState
    public let certsWrappedKey: [UInt8]?
    public let certsKeyVersion: Int?
    public let certsDestroyedAt: Date?
    public let certsDestroyReason: String?
    public let originalBuildID: String?

    /// A result file exists for download.
    public var hasResult: Bool { resultSize != nil && artifactsPurgedAt == nil }
    public var hasSource: Bool { sourceSize != nil && artifactsPurgedAt == nil }
}

/// What a worker poll hands out.
public struct AssignedJob: Sendable {
    public let buildID: String
    public let platform: String
    public let hasCerts: Bool
    public let submittedAt: Date
    public let attempt: Int
}

/// A worker as stored, with its derived status.
public struct WorkerRecord: Sendable {
    public let id: String
    public let name: String
    public let status: String
    public let registeredAt: Date
    public let lastSeenAt: Date
    public let buildsCompleted: Int
    public let buildsFailed: Int
    public let currentBuildID: String?
}

/// Figures of `/api/builds/statistics`.
public struct BuildStatistics: Sendable, Equatable {
    public var total = 0, pending = 0, assigned = 0, building = 0, completed = 0, failed = 0, cancelled = 0
    public init() {}
}

/// Figures of the public `/api/stats`.
public struct PublicStatistics: Sendable, Equatable {
    public var nodesOnline = 0
    public var buildsQueued = 0
    public var activeBuilds = 0
    public var buildsToday = 0
    public var totalBuilds = 0
    public var totalBuildTimeMs: Int64 = 0
    public var totalCpuCycles: Int64 = 0
    public init() {}
}

/// A diagnostics report of a worker.
public struct DiagnosticReport: Sendable {
    public let id: String
    public let workerID: String
    public let status: String
    public let runAt: Date
    public let durationMs: Int64
    public let autoFixed: Bool
    /// The `checks` array as JSON text, stored and returned as the worker sent it.
    public let checksJSON: String
}
