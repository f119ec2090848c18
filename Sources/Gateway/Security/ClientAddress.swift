import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Who a request comes from, for the abuse limits and the security log.
enum ClientAddress {
    static let forwardedForHeader = HTTPField.Name("X-Forwarded-For")!

    /// The peer's IP address; when the peer is one of `trustedProxies`, the right-most `X-Forwarded-For` entry
    /// that is not a trusted proxy (entries left of it are whatever the client chose to send). `nil` when the
    /// request has no peer address (in-process test channels).
    static func of(_ request: Request, peer: SocketAddress?, trustedProxies: Set<String>) -> String? {
        guard let peer = peer?.ipAddress else { return nil }
        guard trustedProxies.contains(peer) else { return peer }
        let hops = request.headers[values: forwardedForHeader]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !hop.isEmpty && !trustedProxies.contains(hop) {
            // Only something shaped like an address; anything else is the proxy's problem, not a new identity.
            guard hop.utf8.count <= 45, hop.utf8.allSatisfy({ $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }) else {
                return peer
            }
            return hop
        }
        return peer
    }
}
