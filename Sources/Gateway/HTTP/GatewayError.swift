/// A refusal decided by the Gateway itself (credentials, request shape), with the status it stands for.
///
/// The message is what the client reads in `{"error": "..."}`: short, human, and never a path, a query, a
/// token or a stack.
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case badRequest, unauthorized, forbidden, notFound, conflict, payloadTooLarge, rangeNotSatisfiable,
            unavailable
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func badRequest(_ message: String) -> Self { Self(.badRequest, message) }
    static func unauthorized(_ message: String = "Authentication required") -> Self { Self(.unauthorized, message) }
    static func forbidden(_ message: String = "Forbidden") -> Self { Self(.forbidden, message) }
    static func notFound(_ message: String) -> Self { Self(.notFound, message) }
    static func conflict(_ message: String) -> Self { Self(.conflict, message) }
    static func payloadTooLarge(_ message: String) -> Self { Self(.payloadTooLarge, message) }

    public var description: String { "GatewayError(\(code): \(message))" }
}
