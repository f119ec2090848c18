import Foundation

/// One case of the published SigV4 test suite (Vectors/aws-signing-test-suite-v4/<name>/), parsed.
struct SigningTestSuiteCase {
    /// `context.json`: how the suite signs the case.
    struct Context: Decodable {
        struct Credentials: Decodable {
            var accessKeyID: String
            var secretAccessKey: String
            var token: String?

            enum CodingKeys: String, CodingKey {
                case accessKeyID = "access_key_id"
                case secretAccessKey = "secret_access_key"
                case token
            }
        }

        var credentials: Credentials
        var expirationInSeconds: Int
        var normalize: Bool
        var region: String
        var service: String
        var signBody: Bool
        var timestamp: String

        enum CodingKeys: String, CodingKey {
            case credentials, normalize, region, service, timestamp
            case expirationInSeconds = "expiration_in_seconds"
            case signBody = "sign_body"
        }
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors/aws-signing-test-suite-v4")

    var name: String
    var context: Context
    var method: String
    /// The path of the request line, as written there (the suite's paths are unencoded).
    var path: String
    /// The query of the request line, split and percent-decoded into raw items.
    var query: [(name: String, value: String)]
    /// The `Host` header's value.
    var host: String
    /// Every other header, in order, with continuation lines kept (joined by "\n").
    var headers: [(name: String, value: String)]
    var body: String

    init(name: String) throws {
        self.name = name
        let folder = Self.directory.appendingPathComponent(name)
        self.context = try JSONDecoder().decode(
            Context.self,
            from: Data(contentsOf: folder.appendingPathComponent("context.json"))
        )
        let request = try String(contentsOf: folder.appendingPathComponent("request.txt"), encoding: .utf8)

        // Head and body are separated by the first empty line; the body (if any) has no trailing newline.
        let lines = request.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let blank = lines.firstIndex(of: "") ?? lines.endIndex
        self.body = lines[min(blank + 1, lines.endIndex)...].joined(separator: "\n")

        // "METHOD target HTTP/1.1", where the target may contain spaces (get-space-*).
        let requestLine = lines[0]
        guard let firstSpace = requestLine.firstIndex(of: " "), let lastSpace = requestLine.lastIndex(of: " ") else {
            throw ParseError(description: "\(name): bad request line \(requestLine)")
        }
        self.method = String(requestLine[..<firstSpace])
        let target = requestLine[requestLine.index(after: firstSpace)..<lastSpace]
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = String(parts[0])
        self.query =
            parts.count < 2 || parts[1].isEmpty
            ? []
            : parts[1].split(separator: "&").map { pair in
                let nameValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode = { (text: Substring) in String(text).removingPercentEncoding ?? String(text) }
                return (name: decode(nameValue[0]), value: nameValue.count > 1 ? decode(nameValue[1]) : "")
            }

        var host: String?
        var headers: [(name: String, value: String)] = []
        for line in lines[1..<blank] {
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line  // obs-fold: the signer must collapse it
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw ParseError(description: "\(name): bad header line \(line)")
            }
            let headerName = String(line[..<colon])
            let value = String(line[line.index(after: colon)...])
            if headerName.lowercased() == "host" { host = value } else { headers.append((headerName, value)) }
        }
        guard let host else { throw ParseError(description: "\(name): no Host header") }
        self.host = host
        self.headers = headers
    }

    var date: Date {
        get throws {
            guard let date = ISO8601DateFormatter().date(from: self.context.timestamp) else {
                throw ParseError(description: "\(self.name): bad timestamp \(self.context.timestamp)")
            }
            return date
        }
    }

    func fileURL(_ file: String) -> URL {
        Self.directory.appendingPathComponent(self.name).appendingPathComponent(file)
    }

    func file(_ file: String) throws -> String {
        try String(contentsOf: self.fileURL(file), encoding: .utf8)
    }

    /// The value of `header` in the suite's signed request (e.g. `Authorization`).
    func signedRequestHeader(_ header: String) throws -> String? {
        let prefix = header.lowercased() + ":"
        return try self.file("header-signed-request.txt").split(separator: "\n")
            .first { $0.lowercased().hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count)) }
    }
}
