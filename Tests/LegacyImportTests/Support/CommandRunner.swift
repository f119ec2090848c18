import Foundation
import Logging
import Orchestrator
import PostgresNIO
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A whole database of its own, for the built executable (which is configured by `DATABASE_URL` alone and so
/// cannot be pointed at a test schema). Dropped afterwards.
struct ScratchDatabase: Sendable {
    let url: String
    let configuration: PostgresClient.Configuration

    static func with<Result: Sendable>(_ body: (ScratchDatabase) async throws -> Result) async throws -> Result {
        guard let base = ProcessInfo.processInfo.environment[TestDatabase.environmentVariable],
            var components = URLComponents(string: base)
        else { throw FixtureError(message: "\(TestDatabase.environmentVariable) is not set") }
        let baseName = components.path.split(separator: "/").last.map(String.init) ?? "postgres"
        let name = "\(baseName)_import_\(UUID().uuidString.prefix(8).lowercased())"
        components.path = "/" + name
        let url = components.string!
        let logger = Logger(label: "scratch-db")
        let admin = try TestDatabase.baseConfiguration()
        _ = try await TestDatabase.withClient(admin, logger: logger) { client in
            try await client.query("CREATE DATABASE \(unescaped: name)", logger: logger)
        }
        let database = ScratchDatabase(url: url, configuration: try DatabaseURL.configuration(from: url))
        do {
            let result = try await body(database)
            try await drop(name, admin: admin, logger: logger)
            return result
        } catch {
            try? await drop(name, admin: admin, logger: logger)
            throw error
        }
    }

    private static func drop(_ name: String, admin: PostgresClient.Configuration, logger: Logger) async throws {
        _ = try await TestDatabase.withClient(admin, logger: logger) { client in
            try await client.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger)
        }
    }

    /// Runs `body` with a client on this database.
    func withClient<Result: Sendable>(_ body: (PostgresClient) async throws -> Result) async throws -> Result {
        try await TestDatabase.withClient(configuration, logger: Logger(label: "scratch-db"), body)
    }
}

/// Runs `free-agent-controller import-legacy` as the operator would, optionally SIGKILLing it half-way.
struct CommandRunner {
    struct Outcome {
        var killed: Bool
        var exitStatus: Int32
        var stdout: String
        var stderr: String

        /// `issued token: <id> <token>` lines, in order.
        var issuedTokens: [(buildID: String, token: String)] {
            stdout.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard line.hasPrefix("issued token: "), parts.count == 4 else { return nil }
                return (String(parts[2]), String(parts[3]))
            }
        }
    }

    let database: ScratchDatabase
    let storeRoot: String
    let vaultKey: String

    /// The executable `swift build` put beside the test bundle.
    static var executable: String {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return folder.appendingPathComponent("free-agent-controller").path
    }

    /// Runs the import; when `killWhen` is given it is asked every few milliseconds (with a client on the
    /// database) and the process is SIGKILLed the first time it answers `true`.
    func run(
        _ fixture: LegacyFixture, arguments extra: [String] = [],
        killWhen: ((PostgresClient) async throws -> Bool)? = nil
    ) async throws -> Outcome {
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("fac-cli-\(UUID().uuidString)")
        let errFile = outFile.appendingPathExtension("err")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outFile)
            try? FileManager.default.removeItem(at: errFile)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["import-legacy", "--sqlite", fixture.databasePath, "--storage", fixture.storagePath] + extra
        process.environment = [
            "DATABASE_URL": database.url, "CONTROLLER_API_KEY": ImportHarness.apiKey, "VAULT_MASTER_KEY": vaultKey,
            "STORAGE_ROOT": storeRoot, "LOG_LEVEL": "error", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "",
        ]
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        try process.run()
        var killed = false
        if let killWhen {
            try await database.withClient { client in
                // Polls an external process: there is no event to wait for instead.
                while process.isRunning {
                    if (try? await killWhen(client)) == true {
                        kill(process.processIdentifier, SIGKILL)
                        killed = true
                        break
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        }
        process.waitUntilExit()
        killed = killed && process.terminationReason == .uncaughtSignal
        return Outcome(
            killed: killed, exitStatus: process.terminationStatus,
            stdout: (try? String(contentsOf: outFile, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }
}

/// The cursor of a legacy table in the import's bookkeeping (0 before the first page, or before the schema).
func legacyCursor(_ client: PostgresClient, _ table: String) async throws -> Int64 {
    let rows = try await client.query("SELECT last_rowid FROM legacy_import_cursors WHERE table_name = \(table)")
    for try await rowid in rows.decode(Int64.self) { return rowid }
    return 0
}
