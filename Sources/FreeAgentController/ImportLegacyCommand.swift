import ArgumentParser
import ArtifactStore
import CertVault
import Foundation
import Gateway
import LegacyImport
import Logging
import NIOCore
import Orchestrator
import PostgresNIO
import Synchronization

/// `import-legacy`: moves the old TypeScript controller's SQLite database and storage folder into this
/// controller. Reads the same settings as `serve` (DATABASE_URL, STORAGE_ROOT, the vault key,
/// CERTS_GRACE_SECONDS; the whole set is validated, so a controller that would not start is caught first).
///
/// stdout: the tokens issued for builds that had none (`<build id> <token>`, one per line, printed as soon as
/// their page is committed), then the report. stderr: progress.
struct ImportLegacy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-legacy",
        abstract: "Import the old controller's SQLite database and storage folder (read-only; resumable).")

    @Option(name: .customLong("sqlite"), help: "The old controller's database (e.g. ./data/controller.db).")
    var sqlitePath: String
    @Option(name: .customLong("storage"), help: "The old controller's storage folder (builds/, certs/, results/).")
    var storagePath: String
    @Flag(name: .customLong("dry-run"), help: "Read and check everything, write nothing, print what would happen.")
    var dryRun = false
    @Option(name: .customLong("report"), help: "Also write the report as JSON to this file (mode 0600: it holds issued tokens).")
    var reportPath: String?

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        // Each copied file ends with fsyncs on the blocking pool: with one thread per core (the default), the
        // concurrent copies would queue behind two syncs at a time.
        NIOSingletons.blockingPoolThreadCountSuggestion = max(16, ProcessInfo.processInfo.activeProcessorCount * 4)
        let settings = try Settings(options)
        let logger = ControllerLogging.controllerLogger()
        var configuration = LegacyImporter.Configuration(
            sqlitePath: sqlitePath, storagePath: storagePath, certsGrace: settings.gateway.certsGrace)
        configuration.dryRun = dryRun
        var store: ArtifactStore?
        var vault: CertVault?
        var openedStore: OpenedStore?
        if !dryRun {
            let keyRing = try KeyRing.load(environmentValue: settings.vaultMasterKey, filePath: settings.vaultMasterKeyFile)
            let opened = try await OpenedStore.open(settings.storage, logger: logger)
            openedStore = opened
            store = opened.store
            vault = CertVault(keyRing: keyRing, storage: opened.store)
        }
        let database = try DatabaseURL.configuration(from: settings.databaseURL)
        let progress = ProgressPrinter()
        let report: ImportReport
        do {
            report = try await PostgresClient.withRunning(database, logger: logger) { client in
                try await importAll(client: client, settings: settings, configuration: configuration, store: store,
                                    vault: vault, progress: progress, logger: logger)
            }
        } catch {
            await openedStore?.close()
            throw error
        }
        await openedStore?.close()
        print(report.text)
        if let reportPath { try Self.write(report, to: reportPath) }
    }

    private func importAll(
        client: PostgresClient, settings: Settings, configuration: LegacyImporter.Configuration, store: ArtifactStore?,
        vault: CertVault?, progress: ProgressPrinter, logger: Logger
    ) async throws -> ImportReport {
        let orchestrator = Orchestrator(client: client, configuration: settings.orchestrator, logger: logger)
        let importer = LegacyImporter(
            configuration: configuration, orchestrator: orchestrator, store: store, vault: vault, logger: logger
        ) { event in
            switch event {
            case .progress(let table, let done, let total): progress.show(table: table, done: done, total: total)
            case .tokensIssued(let tokens): Self.printTokens(tokens)
            }
        }
        do {
            return try await importer.run()
        } catch let error as LegacyImportError {
            throw SettingsError(description: error.description)
        } catch let error as OrchestratorError {
            throw SettingsError(description: error.description)
        } catch let error as PSQLError {
            throw SettingsError(description: "database: \(DatabaseErrorSummary.describe(error))")
        }
    }

    /// One line per token on stdout, flushed before the importer marks them delivered.
    private static func printTokens(_ tokens: [ImportReport.IssuedToken]) {
        var text = ""
        for token in tokens { text += "issued token: \(token.buildID) \(token.accessToken)\n" }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    private static func write(_ report: ImportReport, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(report)
        // Created 0600 before any byte is written: the report holds the issued tokens in clear.
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let file = FileHandle(forWritingAtPath: path)
        else { throw SettingsError(description: "cannot write the report file") }
        defer { try? file.close() }
        try file.truncate(atOffset: 0)
        try file.write(contentsOf: data)
    }
}

/// Progress on stderr: at most one line a second per table, and the last line of each table.
private final class ProgressPrinter: Sendable {
    private let last = Mutex<(table: String, at: ContinuousClock.Instant)?>(nil)

    func show(table: LegacyTable, done: Int64, total: Int64) {
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            guard let previous = last, previous.table == table.rawValue, done < total,
                now - previous.at < .seconds(1)
            else {
                last = (table.rawValue, now)
                return true
            }
            return false
        }
        guard due else { return }
        let percent = total > 0 ? Double(done) * 100 / Double(total) : 100
        FileHandle.standardError.write(Data("\(table.rawValue): \(done)/\(total) (\(String(format: "%.1f", percent)) %)\n".utf8))
    }
}
