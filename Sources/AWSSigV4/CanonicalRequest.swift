/// The canonical request of SigV4: the request reduced to the form both sides hash and sign.
///
/// ```
/// METHOD
/// canonical URI
/// canonical query string
/// name:value            (one line per signed header, sorted by lowercase name)
///
/// signed;header;names
/// payload hash
/// ```
package struct CanonicalRequest: Sendable {
    /// The HTTP method, as sent (`GET`, `PUT`, …).
    package var method: String
    /// The canonical URI (see ``SigV4Encoding`` and ``SigV4Signer/PathEncoding``).
    package var path: String
    /// The canonical query string (``SigV4Encoding/canonicalQuery(_:)``).
    package var query: String
    /// The signed headers: lowercase names, sorted, each with its trimmed values joined by `,`.
    package var headers: [(name: String, value: String)]
    /// The last line: `UNSIGNED-PAYLOAD` or the hex SHA-256 of the body.
    package var payloadHash: String

    /// A canonical request from the parts of a request.
    ///
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - path: The canonical URI, already made canonical.
    ///   - query: The canonical query string, already made canonical.
    ///   - headers: The headers to sign, with names in any case, in any order, repeated names allowed.
    ///   - payloadHash: The payload hash line.
    package init(
        method: String,
        path: String,
        query: String,
        headers: [(name: String, value: String)],
        payloadHash: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = Self.canonicalHeaders(headers)
        self.payloadHash = payloadHash
    }

    /// The `;`-joined lowercase names of the signed headers (`SignedHeaders=` / `X-Amz-SignedHeaders`).
    package var signedHeaders: String {
        self.headers.map(\.name).joined(separator: ";")
    }

    /// The canonical request as the text that is hashed into the string to sign.
    package var text: String {
        let headerLines = self.headers.map { "\($0.name):\($0.value)\n" }.joined()
        return [self.method, self.path, self.query, headerLines, self.signedHeaders, self.payloadHash]
            .joined(separator: "\n")
    }

    /// Lowercases names, trims values and collapses inner whitespace runs to one space, joins the values of one
    /// name with `,` in the order given, and sorts by name.
    private static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)]
    {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for header in headers {
            let name = header.name.lowercased()
            // Whitespace of any kind, including folded lines, as the server collapses it (botocore does
            // `" ".join(value.split())`). Split by scalars: by Characters, a space followed by a combining mark
            // would form one non-space grapheme and survive.
            let value = header.value.unicodeScalars.split(whereSeparator: \.properties.isWhitespace)
                .map { String(String.UnicodeScalarView($0)) }
                .joined(separator: " ")
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(value)
        }
        return order.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { (name: $0, value: values[$0, default: []].joined(separator: ",")) }
    }
}
