// JSON request bodies: JSONBody.depthIsBounded, then every body shape the routes decode (JSONDecoder), and
// AnyJSON's re-serialisation (what is stored as jsonb).
import Foundation
@testable import Gateway

/// The real nesting depth of a decoded value.
private func depth(_ value: AnyJSON) -> Int {
    switch value {
    case .array(let values): return 1 + (values.map(depth).max() ?? 0)
    case .object(let fields): return 1 + (fields.values.map(depth).max() ?? 0)
    default: return 0
    }
}

private func decode<T: Decodable>(_ type: T.Type, _ data: Data) -> T? { try? JSONDecoder().decode(type, from: data) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard bytes.count <= JSONBody.maxBytes else { return 0 }
    // As JSONBody.decode does: an all-whitespace body is `{}`.
    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { bytes = Array("{}".utf8) }
    guard JSONBody.depthIsBounded(bytes) else { return 0 }
    let body = Data(bytes)

    // Every shape a route decodes; none may crash, whatever the bytes.
    _ = decode(Gateway.DiagnosticPost.self, body)
    _ = decode(Gateway.LogPost.self, body)
    _ = decode(Gateway.TelemetryPost.self, body)
    _ = decode(Gateway.HeartbeatPost.self, body)
    _ = decode(Gateway.AuthenticatePost.self, body)
    _ = decode(Gateway.RegisterPost.self, body)
    _ = decode(Gateway.BuildReference.self, body)
    if let telemetry = decode(Gateway.TelemetryPost.self, body) {
        _ = telemetry.data?["metrics"]?["cpu_percent"]?.number
    }

    guard let value = decode(AnyJSON.self, body) else { return 0 }
    // The depth check must not be fooled (strings, escapes): what it let through nests no deeper than it promised.
    check(depth(value) <= JSONBody.maxDepth, "depthIsBounded passed a document of depth \(depth(value))")
    // What we store must be JSON we can read back, and storing it again must not change it.
    let stored = value.jsonValue.serialized()
    check(JSONBody.depthIsBounded(Array(stored.utf8)), "re-serialised value fails the depth check")
    guard let reread = decode(AnyJSON.self, Data(stored.utf8)) else {
        fatalError("fuzz property violated: AnyJSON re-serialised to invalid JSON: \(stored)")
    }
    let again = reread.jsonValue.serialized()
    check(again == stored, "AnyJSON serialisation is not stable: \(stored) then \(again)")
    return 0
}
