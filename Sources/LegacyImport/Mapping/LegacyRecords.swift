public import Identifiers
public import Orchestrator

/// A worker row of the old database, checked and typed.
public struct LegacyWorker: Sendable, Equatable {
    public var id: WorkerID
    public var name: String
    /// The old `status` was `offline`; `idle` and `building` are derived from builds in the new schema.
    public var offline: Bool
    /// The capabilities object as JSON text (checked to be a JSON object).
    public var capabilitiesJSON: String
    public var registeredAtMs: Int64
    public var lastSeenAtMs: Int64
    public var buildsCompleted: Int32
    public var buildsFailed: Int32
}

/// Something the mapping changed about a row while keeping it; reported per kind with a count.
public enum LegacyNote: String, Sendable, Equatable, Codable, CaseIterable {
    /// `failed` with `Build cancelled by user`: imported as `cancelled`.
    case cancelledStoredAsFailed = "cancelled build stored as failed: imported as cancelled"
    /// `assigned` or `building` when the old controller stopped: back to `pending`, with a log line.
    case inFlightRequeued = "build in flight when the old controller stopped: re-queued as pending"
    /// The build names a worker that is not in the old database (or could not be imported): reference dropped.
    case danglingWorker = "worker reference names no worker: dropped"
    /// A finished build without `completed_at`: its start (or submission) time is used.
    case missingCompletionTime = "finished build without completed_at: started_at or submitted_at used"
    /// No `access_token` column or value: a new token is issued and reported.
    case tokenMissing = "no build token: a new one is issued"
    /// A token that no client of ours could have presented (not 1-128 URL-safe characters): a new one is issued.
    case tokenUnusable = "unusable build token: a new one is issued"
    /// A pending or re-queued build whose source file is missing can never run: imported as failed.
    case pendingWithoutSource = "pending build without its source file: imported as failed"
}

/// A build row of the old database, checked, typed and mapped onto the new lifecycle.
public struct LegacyBuild: Sendable {
    public var id: BuildID
    /// The status the old database stored, for the log line of a re-queued build.
    public var legacyStatus: String
    public var status: BuildStatus
    public var platform: String
    public var sourcePath: String?
    public var certsPath: String?
    public var resultPath: String?
    public var workerID: WorkerID?
    public var submittedAtMs: Int64
    public var startedAtMs: Int64?
    public var completedAtMs: Int64?
    public var errorMessage: String?
    /// The old token, to be hashed on the way in; `nil` when a new one must be issued.
    public var token: SecretToken?
    public var notes: [LegacyNote]

    /// `true` when the old controller had handed the build to a worker that never finished it.
    public var wasInFlight: Bool { notes.contains(.inFlightRequeued) }
}

/// A build log line of the old database.
public struct LegacyLogLine: Sendable, Equatable {
    public var buildID: BuildID
    public var timestampMs: Int64
    public var level: LogLevel
    public var message: String
}

/// A CPU/memory sample of the old database.
public struct LegacyCPUSnapshot: Sendable, Equatable {
    public var buildID: BuildID
    public var timestampMs: Int64
    public var cpuPercent: Double
    public var memoryMB: Double
}

/// A diagnostics report of the old database.
public struct LegacyDiagnostic: Sendable, Equatable {
    public var id: String
    public var workerID: WorkerID
    public var status: String
    public var runAtMs: Int64
    public var durationMs: Int64
    public var autoFixed: Bool
    /// The checks array as JSON text (checked to be a JSON array).
    public var checksJSON: String
}

/// Why a legacy row is not imported. Reported with the row's key; never fatal to the import.
public struct LegacyRowRejection: Error, Sendable, Equatable {
    /// Why, as a domain fact; ``summary`` is its text for the report.
    public enum Reason: Sendable, Equatable {
        /// The row's id is empty, longer than 64 characters or not `[A-Za-z0-9_-]`.
        case invalidID(column: String)
        /// A required column is NULL or absent from the table.
        case missing(column: String)
        /// A cell of a type the column cannot hold (e.g. a blob for a timestamp).
        case wrongType(column: String)
        /// Text with a NUL character, which PostgreSQL text cannot store.
        case nulCharacter(column: String)
        /// A value outside the values the column allows (status, platform, level, a range).
        case unknownValue(column: String)
        /// A timestamp before 1970 or after 2200.
        case timestampOutOfRange(column: String)
        /// Not JSON of the expected shape (object or array), or nested too deep.
        case invalidJSON(column: String)
        /// The row's build or worker does not exist in the old database.
        case orphan(parent: String)
    }

    public var table: LegacyTable
    public var reason: Reason

    public init(_ table: LegacyTable, _ reason: Reason) {
        self.table = table
        self.reason = reason
    }

    /// A short text without any cell value, so it may be printed and grouped on.
    public var summary: String {
        switch reason {
        case .invalidID(let column): "\(column) is not a valid id"
        case .missing(let column): "\(column) is missing"
        case .wrongType(let column): "\(column) has the wrong type"
        case .nulCharacter(let column): "\(column) contains a NUL character"
        case .unknownValue(let column): "\(column) has an unknown value"
        case .timestampOutOfRange(let column): "\(column) is not a plausible time"
        case .invalidJSON(let column): "\(column) is not valid JSON of the expected shape"
        case .orphan(let parent): "refers to a \(parent) that does not exist (orphan)"
        }
    }
}
