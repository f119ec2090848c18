/// RFC 3986 percent-encoding as SigV4 wants it, and the canonical query string built with it.
///
/// The unreserved characters `A-Z a-z 0-9 - _ . ~` are kept; every other byte of the UTF-8 form becomes
/// `%XX` with uppercase hex. Unlike `addingPercentEncoding`, nothing else is left alone: `+`, `=`, `&`, `:`, `@`
/// and (unless asked) `/` are all encoded, because the server encodes them when it rebuilds the canonical request.
public enum SigV4Encoding {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// Percent-encodes `value` for a canonical request.
    ///
    /// - Parameters:
    ///   - value: The raw (unencoded) text, e.g. an S3 object key or a query value.
    ///   - encodeSlash: Whether `/` becomes `%2F`. Pass `false` for an S3 object key in a path (its slashes are
    ///     path separators), `true` for query names and values.
    /// - Returns: The encoded text, ASCII only.
    public static func encode(_ value: String, encodeSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            if Self.isUnreserved(byte) || (byte == UInt8(ascii: "/") && !encodeSlash) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(Self.hexDigits[Int(byte >> 4)])
                out.append(Self.hexDigits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical query string of raw query items.
    ///
    /// Each name and value is encoded with ``encode(_:encodeSlash:)`` (slashes too), the pairs are sorted by encoded
    /// name and then by encoded value (byte order, as the server does), and joined as `name=value` with `&`.
    /// An item with an empty value is written `name=`. The S3 driver sends exactly this as the URL's query,
    /// so what is signed is what is sent.
    ///
    /// - Parameter items: The raw (unencoded) query items, in any order; repeated names are kept.
    /// - Returns: The canonical query string, empty when there are no items.
    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        let encoded = items.map { item in
            (name: Self.encode(item.name, encodeSlash: true), value: Self.encode(item.value, encodeSlash: true))
        }
        let sorted = encoded.sorted { lhs, rhs in
            if lhs.name != rhs.name { return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8) }
            return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
        }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// The canonical URI of a request path as sent on the wire.
    ///
    /// For ``SigV4Signer/PathEncoding/s3`` the path is used as given (S3 signs the path exactly as sent, once
    /// encoded by the caller). For ``SigV4Signer/PathEncoding/standard`` the dot segments and empty segments are
    /// removed and each remaining segment is encoded again, as every other AWS service expects.
    static func canonicalPath(_ path: String, encoding: SigV4Signer.PathEncoding) -> String {
        switch encoding {
        case .s3:
            return path.isEmpty ? "/" : path
        case .standard:
            let normalized = Self.normalizedSegments(path)
            guard !normalized.segments.isEmpty else { return "/" }
            let encoded = normalized.segments.map { Self.encode(String($0), encodeSlash: true) }
            return "/" + encoded.joined(separator: "/") + (normalized.trailingSlash ? "/" : "")
        }
    }

    /// The segments of `path` after RFC 3986 dot-segment removal, with empty segments (duplicate slashes) dropped.
    ///
    /// A path that ends in `/`, `/.` or `/..` keeps a trailing slash, as RFC 3986's `remove_dot_segments` does.
    private static func normalizedSegments(_ path: String) -> (segments: [Substring], trailingSlash: Bool) {
        let raw = path.split(separator: "/", omittingEmptySubsequences: false)
        var kept: [Substring] = []
        for segment in raw {
            switch segment {
            case "", ".": continue
            case "..": _ = kept.popLast()
            default: kept.append(segment)
            }
        }
        let last = raw.last ?? ""
        let trailingSlash = last == "" || last == "." || last == ".."
        return (kept, trailingSlash)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
            true
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
