/// Everything the Orchestrator can refuse, as domain facts. The Gateway maps each ``Code`` to a status once.
public struct OrchestratorError: Error, Sendable, CustomStringConvertible {
    /// Why a call about a build is refused.
    public enum Code: Sendable, Equatable {
        case buildNotFound
        case workerNotFound
        /// The caller once held this build, but its attempt is no longer the current one.
        case staleAttempt
        /// The build was cancelled; a worker learns it at its next call.
        case buildCancelled
        /// The build is completed or failed and never changes again.
        case buildFinished
        /// The caller never held this build (or holds another attempt's credential).
        case notHolder
        /// The build is not in a status where this makes sense (e.g. vm-ready for a pending build).
        case notActive
        /// `before` names no build.
        case invalidCursor
        case invalidConfiguration
        /// A migration failed or the schema is newer than this binary.
        case migrationFailed
    }

    public var code: Code
    public var buildID: String?
    /// A client-safe detail (never SQL, never a secret), e.g. which setting is wrong.
    public var detail: String?
    public var underlying: (any Error)?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, buildID: String? = nil, detail: String? = nil, underlying: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.buildID = buildID
        self.detail = detail
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    static func invalidConfiguration(_ detail: String, file: String = #fileID, line: Int = #line) -> Self {
        Self(.invalidConfiguration, detail: detail, file: file, line: line)
    }

    public var description: String {
        var text = "OrchestratorError(\(code)"
        if let buildID { text += ", build: \(buildID)" }
        if let detail { text += ", \(detail)" }
        if let underlying { text += ", underlying: \(DatabaseErrorSummary.describe(underlying))" }
        return text + ", at: \(file):\(line))"
    }
}
