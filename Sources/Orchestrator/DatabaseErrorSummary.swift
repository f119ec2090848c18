import PostgresNIO

/// Describes a database error for a log line without the SQL text, its bind values or connection details.
///
/// `PSQLError`'s own `description` is redacted to nothing useful and its `debugDescription` carries the query;
/// an operator needs the server's message and SQLSTATE, and nothing else.
public enum DatabaseErrorSummary {
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            var parts = ["database error \(error.code)"]
            if let state = error.serverInfo?[.sqlState] { parts.append("sqlstate=\(state)") }
            if let message = error.serverInfo?[.message] { parts.append("message=\(message)") }
            return parts.joined(separator: " ")
        }
        if let error = error as? OrchestratorError { return error.description }
        return String(describing: type(of: error))
    }

    /// `true` when the error means the database could not be reached (as opposed to a query it refused).
    public static func isUnavailable(_ error: any Error) -> Bool {
        // The pool's own error type is not exported; it means "no connection could be made" (circuit breaker).
        if String(describing: type(of: error)) == "ConnectionPoolError" { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
            return true
        case .server:
            // Class 08 is "connection exception"; 57P0x are shutdown / cannot-connect-now.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return false
        }
    }

    /// `true` when the database refused a text value the client sent (a NUL character: SQLSTATE 22021 in text,
    /// 22P05 in jsonb): the client's fault, a 400, not a server error.
    public static func isRejectedText(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, error.code == .server else { return false }
        let state = error.serverInfo?[.sqlState] ?? ""
        return state == "22021" || state == "22P05"
    }
}
