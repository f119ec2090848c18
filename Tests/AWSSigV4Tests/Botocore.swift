import Foundation

/// Runs Vectors/botocore_sign.py with `python3` from PATH: botocore's S3 signers as a second opinion.
enum Botocore {
    /// One request for botocore to sign; see botocore_sign.py for the fields.
    struct Case: Encodable {
        enum Kind: String, Encodable { case header, query }

        var id: String
        var kind: Kind
        var method: String
        var url: String
        var headers: [[String]] = []
        var params: [[String]] = []
        var body: String = ""
        var unsignedPayload: Bool = false
        var expires: Int = 0
        var accessKey: String
        var secretKey: String
        var token: String?
        var region: String
        var timestamp: String

        enum CodingKeys: String, CodingKey {
            case id, kind, method, url, headers, params, body, expires, token, region, timestamp
            case unsignedPayload = "unsigned_payload"
            case accessKey = "access_key"
            case secretKey = "secret_key"
        }
    }

    /// What botocore produced for one case: the request's headers after signing, or the presigned URL.
    struct Answer: Decodable {
        var headers: [String: String]?
        var url: String?
    }

    struct Output: Decodable {
        var botocoreVersion: String
        var results: [String: Answer]

        enum CodingKeys: String, CodingKey {
            case results
            case botocoreVersion = "botocore_version"
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors/botocore_sign.py")

    /// Signs `cases` with botocore in one python3 process.
    static func sign(_ cases: [Case]) throws -> Output {
        let python = try Self.python3()
        let process = Process()
        process.executableURL = python
        process.arguments = [Self.script.path]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Small enough for the pipe buffer, so writing everything before reading cannot deadlock.
        try input.fileHandleForWriting.write(contentsOf: JSONEncoder().encode(["cases": cases]))
        try input.fileHandleForWriting.close()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description: """
                    \(python.path) \(Self.script.lastPathComponent) exited with \(process.terminationStatus). \
                    botocore must be installed for python3 (pip install botocore; CI gets it with moto[server]): \
                    \(stderr)
                    """
            )
        }
        return try JSONDecoder().decode(Output.self, from: stdout)
    }

    /// `python3` from PATH; a clear failure when there is none, since CI installs it.
    static func python3() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("python3")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Failure(
            description:
                "python3 is not on PATH (\(path)); the botocore comparison needs python3 with botocore installed"
        )
    }
}
