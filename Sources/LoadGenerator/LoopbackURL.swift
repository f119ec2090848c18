/// A controller address the load generator may talk to: `http://127.0.0.1:<port>` and nothing else, so a
/// mistyped URL can never turn a benchmark into load on someone else's server.
struct LoopbackURL: Sendable, Equatable, CustomStringConvertible {
    let port: Int

    /// Parses `http://127.0.0.1:<port>` with an optional trailing `/`; `nil` for any other host, scheme or path.
    init?(_ text: String) {
        let prefix = "http://127.0.0.1:"
        guard text.hasPrefix(prefix) else { return nil }
        var rest = Substring(text.dropFirst(prefix.count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, rest.count <= 5, rest.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(rest),
            (1...65_535).contains(port)
        else { return nil }
        self.port = port
    }

    var description: String { "http://127.0.0.1:\(port)" }

    /// The absolute URL of `path` (which starts with `/`) on this controller.
    func appending(_ path: String) -> String { description + path }
}
