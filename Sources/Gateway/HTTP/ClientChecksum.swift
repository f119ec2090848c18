import Foundation
import HTTPTypes
import Hummingbird

/// The SHA-256 a client may send with an upload (`X-Checksum-SHA256: <64 hex digits>`), checked against the
/// digest computed while the file streams in; a mismatch is a 400 and nothing is kept.
enum ClientChecksum {
    static let header = HTTPField.Name("X-Checksum-SHA256")!

    /// The expected digest in lowercase hex, `nil` when none was sent; 400 for a malformed one.
    static func expected(in request: Request) throws -> String? {
        guard let value = request.headers[header]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        let lowered = value.lowercased()
        guard lowered.utf8.count == 64, lowered.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw GatewayError.badRequest("X-Checksum-SHA256 must be 64 hexadecimal digits")
        }
        return lowered
    }
}
