// Identifiers: BuildID / WorkerID / SecretToken(presented:) validation, Base64URL.encode, ConstantTime, digests.
@testable import Identifiers

private let urlSafe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

/// A reference decoder for unpadded base64url, independent of the code under test.
private func decodeBase64URL(_ text: String) -> [UInt8]? {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    var bits: UInt32 = 0
    var count = 0
    var out: [UInt8] = []
    for symbol in text.utf8 {
        guard let value = alphabet.firstIndex(of: symbol) else { return nil }
        bits = bits << 6 | UInt32(value)
        count += 6
        if count >= 8 {
            count -= 8
            out.append(UInt8(truncatingIfNeeded: bits >> UInt32(count)))
            bits &= (1 << UInt32(count)) - 1
        }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    let text = String(decoding: bytes, as: UTF8.self)

    if let id = BuildID(text) {
        check(!id.rawValue.isEmpty && id.rawValue.utf8.count <= BuildID.maxLength, "BuildID length \(id.rawValue.utf8.count)")
        check(id.rawValue.utf8.allSatisfy(urlSafe.contains), "BuildID accepted a non-URL-safe byte")
        check(id.rawValue == text, "BuildID changed its text")
    } else {
        check(text.isEmpty || text.utf8.count > BuildID.maxLength || !text.utf8.allSatisfy(urlSafe.contains), "BuildID refused a valid id")
    }
    if let id = WorkerID(text[...]) {
        check(id.rawValue.utf8.count <= WorkerID.maxLength && id.rawValue.utf8.allSatisfy(urlSafe.contains), "WorkerID")
    }
    if let token = SecretToken(presented: text) {
        check(token.reveal.utf8.count <= SecretToken.maxPresentedLength && token.reveal.utf8.allSatisfy(urlSafe.contains), "token")
        check(token.digest.bytes.count == 32, "digest length")
        check("\(token)" == "SecretToken(redacted)" && String(reflecting: token) == "SecretToken(redacted)", "token not redacted")
    }

    let encoded = Base64URL.encode(bytes)
    check(encoded.utf8.count == (bytes.count * 4 + 2) / 3, "Base64URL length \(encoded.utf8.count) for \(bytes.count) bytes")
    check(encoded.utf8.allSatisfy(urlSafe.contains), "Base64URL emitted a non-URL-safe byte")
    check(decodeBase64URL(encoded) == bytes, "Base64URL does not round-trip")

    let half = bytes.count / 2
    let left = Array(bytes[..<half])
    let right = Array(bytes[half...])
    check(ConstantTime.equals(left, right) == (left == right), "ConstantTime.equals disagrees with ==")
    check(ConstantTime.equals(bytes, bytes), "ConstantTime.equals(x, x) is false")
    check(TokenDigest(bytes: bytes).map { $0.bytes == bytes } ?? (bytes.count != 32), "TokenDigest(bytes:)")
    return 0
}
