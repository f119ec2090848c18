public import HTTPTypes
public import Hummingbird
import Logging

/// Gives every request an id: a sane incoming `X-Request-Id` (a proxy's or a client's) or a fresh random one.
///
/// The id goes into the request logger's `request_id` metadata, so every log line of the request carries it,
/// into ``GatewayRequestContext/requestID``, and back to the client in the `X-Request-Id` header of every
/// response, errors included (``ErrorMiddleware`` sits inside this one and turns errors into responses).
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    /// The header, in and out.
    public static let header = HTTPField.Name("X-Request-Id")!
    /// The logger metadata key.
    public static let metadataKey = "request_id"
    /// The longest incoming id kept; anything longer or with other characters is replaced.
    static let maxIncomingLength = 128

    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let id = request.headers[Self.header].flatMap(Self.sanitized) ?? Self.generate()
        context.requestID = id
        context.logger[metadataKey: Self.metadataKey] = .string(id)
        var response = try await next(request, context)
        response.headers[Self.header] = id
        return response
    }

    /// The incoming id when it is short and made of `[A-Za-z0-9._:-]` only: nothing that could forge a log line.
    static func sanitized(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= maxIncomingLength,
            text.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: ":")
            })
        else { return nil }
        return text
    }

    /// 128 random bits as 32 hex digits.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
