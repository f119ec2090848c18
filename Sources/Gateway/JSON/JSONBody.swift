import Foundation
import Identifiers
import Hummingbird
import NIOCore

/// Reads JSON request bodies with a size cap and a nesting cap, so a hostile body costs little.
enum JSONBody {
    /// The largest JSON body accepted (1 MiB).
    static let maxBytes = 1 << 20
    /// The deepest nesting accepted.
    static let maxDepth = 32

    /// Decodes `T` from the body. An empty body (the CLI's cancel sends `Content-Type: application/json` and
    /// nothing else) decodes as `{}`.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, invalid message: String) async throws -> T {
        let buffer = try await collect(request)
        var bytes = Array(buffer.readableBytesView)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { bytes = Array("{}".utf8) }
        guard depthIsBounded(bytes) else { throw GatewayError.badRequest(message) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw GatewayError.badRequest(message)
        }
    }

    /// The raw body, at most ``maxBytes``.
    static func collect(_ request: Request) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw GatewayError.payloadTooLarge("Request body too large")
        }
    }

    /// `true` when brackets nest no deeper than ``maxDepth`` (strings are skipped).
    static func depthIsBounded(_ bytes: [UInt8]) -> Bool {
        JSONNesting.isBounded(bytes, maxDepth: maxDepth)
    }
}

/// A JSON value decoded without a fixed shape (telemetry `data`, diagnostics `checks`, capabilities).
enum AnyJSON: Decodable, Sendable {
    case null, bool(Bool), number(Double), string(String), array([AnyJSON]), object([String: AnyJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([AnyJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: AnyJSON].self)) }
    }

    subscript(key: String) -> AnyJSON? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Re-serializes the value (sorted keys), e.g. to store it as `jsonb`.
    var jsonValue: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 9e15 { return .int(Int64(value)) }
            return .double(value)
        case .string(let value): return .string(value)
        case .array(let values): return .array(values.map(\.jsonValue))
        case .object(let fields): return .object(fields.sorted { $0.key < $1.key }.map { field in (field.key, field.value.jsonValue) })
        }
    }
}
