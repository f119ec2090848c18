import ArgumentParser
import CertVault
import Foundation
import Gateway
import Logging
import Orchestrator
import PostgresNIO

/// `free-agent-controller vault …`: master-key rotation and the vault's state. The work is done by
/// ``VaultKeyMaintenance`` (in Gateway, where the tests drive it); these commands read the environment, run
/// it against the database and print counts. Nothing here prints a key, a wrapped key or a path.
struct Vault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rotate and retire CertVault master keys; show which versions sealed bundles use.",
        subcommands: [RotateKey.self, Rewrap.self, RetireKey.self, VaultStatus.self]
    )
}

/// The options every vault command shares.
struct VaultOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "DATABASE_URL (default from the environment).") var databaseURL: String?
    @Option(name: .customLong("batch-size"), help: "Rows per page of the rewrap walk (default 100).") var batchSize: Int?
}

/// A refusal or failure of a vault command, printed as `Error: <message>` with a non-zero exit.
struct VaultCommandError: Error, CustomStringConvertible {
    let description: String
}

extension VaultOptions {
    /// Runs `body` with an Orchestrator on `DATABASE_URL`, turning refusals into readable errors. It does not
    /// migrate: a maintenance command must not change the schema under controllers of another version.
    func run<Result: Sendable>(_ body: @Sendable (Orchestrator, Logger) async throws -> Result) async throws -> Result {
        let environment = ProcessInfo.processInfo.environment
        guard let url = databaseURL ?? environment["DATABASE_URL"], !url.isEmpty else {
            throw VaultCommandError(description: "DATABASE_URL is required")
        }
        let logger = ControllerLogging.controllerLogger()
        let database = try DatabaseURL.configuration(from: url)
        do {
            return try await PostgresClient.withRunning(database, logger: logger) { client in
                let orchestrator = Orchestrator(client: client, configuration: OrchestratorConfiguration(), logger: logger)
                return try await body(orchestrator, logger)
            }
        } catch let error as GatewayError {
            throw VaultCommandError(description: error.message)
        } catch let error as VaultError {
            logger.debug("vault command failed", metadata: ["error": "\(String(reflecting: error))"])
            throw VaultCommandError(description: "\(error)")
        } catch let error as VaultCommandError {
            throw error
        } catch {
            throw VaultCommandError(description: "database: \(DatabaseErrorSummary.describe(error))")
        }
    }

    /// `VAULT_MASTER_KEY_FILE`, checked before anything connects to the database.
    func keyFilePath() throws -> String {
        do {
            return try VaultKeyMaintenance.keyFilePath(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw VaultCommandError(description: error.message)
        }
    }

    func maintenance(_ path: String, _ orchestrator: Orchestrator, _ logger: Logger) -> VaultKeyMaintenance {
        VaultKeyMaintenance(
            keyFilePath: path, orchestrator: orchestrator, logger: logger,
            batchSize: batchSize ?? VaultKeyMaintenance.batchSizeDefault)
    }
}

/// Prints a rewrap's counts; a walk that left keys it could not open exits non-zero.
private func printReport(_ report: VaultKeyMaintenance.RewrapReport) throws {
    print("rewrapped: \(report.rewrapped), skipped (destroyed or changed meanwhile): \(report.skipped), failed: \(report.failed)")
    print("sealed bundles per key version: \(formatCounts(report.sealedByVersion))")
    if report.failed > 0 {
        throw VaultCommandError(description: "\(report.failed) wrapped key(s) could not be opened; see the log")
    }
}

private func formatCounts(_ counts: [Int: Int]) -> String {
    counts.isEmpty ? "none" : counts.keys.sorted().map { "v\($0)=\(counts[$0]!)" }.joined(separator: ", ")
}

/// `vault rotate-key`: a new master-key version in `VAULT_MASTER_KEY_FILE`, then every live data key rewrapped.
struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Append a new master-key version to VAULT_MASTER_KEY_FILE and rewrap every sealed bundle's key under it.")

    @OptionGroup var options: VaultOptions
    @Flag(name: .customLong("no-rewrap"), help: "Only add the key; run `vault rewrap` after every controller has restarted.")
    var noRewrap = false

    func run() async throws {
        let rewrap = !noRewrap
        let path = try options.keyFilePath()
        try await options.run { orchestrator, logger in
            let (version, report) = try await options.maintenance(path, orchestrator, logger).rotate(rewrap: rewrap)
            print("new current key version: \(version)")
            if let report { try printReport(report) }
            print("restart every controller process so that it loads the new key file")
        }
    }
}

/// `vault rewrap`: finishes or resumes a rotation.
struct Rewrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrap every sealed bundle's key that the current master-key version does not wrap yet.")

    @OptionGroup var options: VaultOptions

    func run() async throws {
        let path = try options.keyFilePath()
        try await options.run { orchestrator, logger in
            let report = try await options.maintenance(path, orchestrator, logger).rewrapAll()
            print("current key version: \(report.targetVersion)")
            try printReport(report)
        }
    }
}

/// `vault retire-key <version>`: removes an old version once nothing uses it.
struct RetireKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire-key",
        abstract: "Remove a master-key version from VAULT_MASTER_KEY_FILE; refused while any sealed bundle uses it.")

    @OptionGroup var options: VaultOptions
    @Argument(help: "The version to remove.") var version: Int

    func run() async throws {
        let version = version
        let path = try options.keyFilePath()
        try await options.run { orchestrator, logger in
            try await options.maintenance(path, orchestrator, logger).retire(version: version)
            print("key version \(version) removed; restart every controller process so that none keeps it in memory")
        }
    }
}

/// `vault status`: the ring's versions and how many sealed bundles each one wraps.
struct VaultStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the master-key versions and the sealed bundles per version.")

    @OptionGroup var options: VaultOptions

    func run() async throws {
        try await options.run { orchestrator, _ in
            let ring = try KeyRing.load(environment: ProcessInfo.processInfo.environment)
            let status = try await VaultKeyMaintenance.status(ring: ring, orchestrator: orchestrator)
            print("key versions: \(status.versions.map(String.init).joined(separator: ", ")) (current: \(status.currentVersion))")
            print("sealed bundles per key version: \(formatCounts(status.sealedByVersion))")
            if !status.missingVersions.isEmpty {
                throw VaultCommandError(
                    description: "sealed bundles use key version(s) \(status.missingVersions) that the ring lacks")
            }
        }
    }
}
