// PresentedCredentials(headers:workerIDQuery:accepting:): the credential headers of every request.
import HTTPTypes
@testable import Gateway

private let names = ["X-API-Key", "X-Build-Token", "X-Worker-Token", "X-Worker-Id", "X-VM-Token", "x-api-key", "Content-Type"]

private func wellFormed(_ value: PresentedCredentials.Value?) -> Bool {
    guard case .token(let text) = value else { return true }
    return !text.isEmpty && text.utf8.count <= 256 && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard let first = bytes.first else { return 0 }
    // Byte 0: the accepted kinds (a bit each). Then lines: a byte choosing a known header name (or a raw name up to
    // ':'), then the value up to '\n'. A line starting with '?' is the worker_id query.
    let all = CredentialKind.allCases
    let kinds = Set(all.enumerated().filter { first & (1 << UInt8($0.offset)) != 0 }.map(\.element))
    var fields = HTTPFields()
    var query: String?
    for line in bytes.dropFirst().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        guard let selector = line.first else { continue }
        let rest = line.dropFirst()
        if selector == UInt8(ascii: "?") {
            query = String(decoding: rest, as: UTF8.self)
            continue
        }
        var name: HTTPField.Name?
        var value = rest
        if Int(selector) < names.count {
            name = HTTPField.Name(names[Int(selector)])
        } else if let colon = rest.firstIndex(of: UInt8(ascii: ":")) {
            name = HTTPField.Name(String(decoding: rest[..<colon], as: UTF8.self))
            value = rest[(colon + 1)...]
        }
        guard let name else { continue }
        fields.append(HTTPField(name: name, value: String(decoding: value, as: UTF8.self)))
    }

    let presented = PresentedCredentials(headers: fields, workerIDQuery: query, accepting: kinds)
    for value in [presented.apiKey, presented.buildToken, presented.workerToken, presented.vmToken] {
        check(wellFormed(value), "a token that is not 1...256 visible ASCII bytes was accepted: \(String(describing: value))")
    }
    // Credentials of kinds the route does not accept are ignored, as if they were not sent.
    if !kinds.contains(.apiKey) && !kinds.contains(.worker) { check(presented.apiKey == nil, "X-API-Key read on a route without it") }
    if !kinds.contains(.buildToken) { check(presented.buildToken == nil, "X-Build-Token read on a route without it") }
    if !kinds.contains(.worker) {
        check(presented.workerToken == nil && presented.workerID == nil, "worker credentials read on a route without them")
    }
    if !kinds.contains(.vmToken) && !kinds.contains(.heartbeatToken) { check(presented.vmToken == nil, "X-VM-Token read") }
    return 0
}
