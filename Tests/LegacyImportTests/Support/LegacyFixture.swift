import Crypto
import Foundation
import Testing

/// An old controller's database and storage folder, made by `Fixtures/make_legacy_db.py` (the generator of
/// `../shared/fixtures/legacy`, kept beside the tests so that they run anywhere) in a temporary folder.
struct LegacyFixture: Sendable {
    let directory: String
    var databasePath: String { directory + "/controller.db" }
    var storagePath: String { directory + "/storage" }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/make_legacy_db.py").path

    /// Generates a fixture; `body` runs with it and the folder is removed afterwards.
    static func with<Result>(
        builds: Int = 40, logsPerBuild: Int = 12, workers: Int = 4, variant: String = "current",
        relativePaths: Bool = false, seed: Int = 7, _ body: (LegacyFixture) async throws -> Result
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fac-legacy-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var arguments = [
            script, directory, "--builds", "\(builds)", "--logs-per-build", "\(logsPerBuild)", "--workers", "\(workers)",
            "--variant", variant, "--seed", "\(seed)",
        ]
        if relativePaths { arguments.append("--relative-paths") }
        try run("/usr/bin/env", ["python3"] + arguments)
        return try await body(LegacyFixture(directory: directory))
    }

    /// Runs an SQL statement on the fixture's database with python's sqlite3 (the tests' independent reader).
    func sqlite(_ sql: String) throws {
        try Self.run(
            "/usr/bin/env",
            ["python3", "-c", "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.executescript(sys.argv[2]); d.commit()",
             databasePath, sql])
    }

    /// Rows of a query on the fixture's database, read with python's sqlite3, as JSON arrays.
    func query(_ sql: String) throws -> [[Any]] {
        let output = try Self.run(
            "/usr/bin/env",
            ["python3", "-c", "import sqlite3,sys,json; d=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True); print(json.dumps(d.execute(sys.argv[2]).fetchall()))",
             databasePath, sql])
        return (try JSONSerialization.jsonObject(with: output) as? [[Any]]) ?? []
    }

    /// Every file under the fixture (database and storage), by relative path, with its SHA-256.
    func snapshot() throws -> [String: String] {
        var files: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            let path = directory + "/" + relative
            var isFolder: ObjCBool = false
            FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            files[relative] = isFolder.boolValue ? "folder" : sha256(of: path)
        }
        return files
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(message: "\(arguments.prefix(2)) exited with \(process.terminationStatus)")
        }
        return data
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

func sha256(of path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "unreadable" }
    return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

enum SHA256Hex {
    static func of(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }
}
