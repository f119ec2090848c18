import ArgumentParser
import ArtifactStore
import CertVault
import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Orchestrator
import PostgresNIO
import ServiceLifecycle

@main
struct FreeAgentControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "free-agent-controller",
        abstract: "The controller of a self-hosted Expo / React Native build farm.",
        subcommands: [Serve.self, Migrate.self, Vault.self, ImportLegacy.self],
        defaultSubcommand: Serve.self
    )

    /// Runs Swift concurrency on NIO's event loops before anything else is scheduled, so a request's handler,
    /// its database queries and its response stay on one thread instead of hopping between Swift's cooperative
    /// pool and the event loops; each hop is a thread wake-up, and a poll made several (docs/benchmarks.md).
    /// Nothing here may block a thread: blocking work goes to NIO's thread pool.
    static func main() async {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await main(nil)
    }
}

/// Runs the controller: opens the store, migrates, then serves (and sweeps) until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Migrate the database and serve the HTTP API (the default).")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        // Archive inspection and file I/O hold blocking-pool threads for a while; the default (one per core)
        // would let two slow inspections stall every other upload and download.
        NIOSingletons.blockingPoolThreadCountSuggestion = max(8, ProcessInfo.processInfo.activeProcessorCount * 4)
        let settings = try Settings(options)
        let logger = ControllerLogging.controllerLogger()
        Observability.bootstrapMetrics()
        let keyRing = try KeyRing.load(environmentValue: settings.vaultMasterKey, filePath: settings.vaultMasterKeyFile)
        let opened = try await OpenedStore.open(settings.storage, logger: logger)
        do {
            try await serve(settings: settings, keyRing: keyRing, store: opened.store, logger: logger)
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
    }

    private func serve(settings: Settings, keyRing: KeyRing, store: ArtifactStore, logger: Logger) async throws {
        let vault = CertVault(keyRing: keyRing, storage: store)
        var databaseConfiguration = try DatabaseURL.configuration(from: settings.databaseURL)
        databaseConfiguration.options.maximumConnections = 40
        // Unique per process, so /metrics can count this process's sessions in pg_stat_activity.
        let applicationName = "free-agent-controller/\(ProcessInfo.processInfo.hostName.prefix(30))/\(getpid())"
        databaseConfiguration.options.additionalStartupParameters.append(("application_name", applicationName))
        // The pool reports connection events only as debug log lines: counted for /metrics (see LogFormat.swift).
        var poolLogger = logger
        poolLogger.handler = PoolUsageLogHandler(wrapped: logger.handler)
        PoolUsage.recordMaximum(databaseConfiguration.options.maximumConnections)
        let client = PostgresClient(configuration: databaseConfiguration, backgroundLogger: poolLogger)
        let orchestrator = Orchestrator(client: client, configuration: settings.orchestrator, logger: logger)
        let signal = QueueSignal()
        let changes = QueueSignal()
        let gateway = Gateway(
            configuration: settings.gateway, orchestrator: orchestrator, store: store, vault: vault, queueSignal: signal,
            changeSignal: changes, logger: logger)
        var app = Application(
            router: gateway.makeRouter(),
            // HTTPS when TLS_CERT_FILE/TLS_KEY_FILE are set; idle and header timeouts either way.
            server: try gateway.serverBuilder(),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "free-agent-controller"),
            logger: logger)
        // Dependencies first: the group shuts down in reverse, so the server stops before the pool it uses.
        app.addServices(
            client,
            QueueListener(
                client: client, channel: settings.orchestrator.notificationChannel, signal: signal, changes: changes,
                logger: logger),
            LeaseSweeper(orchestrator: orchestrator, logger: logger) {
                await gateway.destroyDueCerts()
                await gateway.purgeExpiredArtifacts()
            },
            UploadSweeper(store: store, interval: UploadSweeper.defaultInterval, logger: logger))
        if let metricsPort = settings.metricsPort {
            // METRICS_PORT: /metrics alone, without credentials, for a scraper on a private network.
            app.addServices(
                Application(
                    router: gateway.makeMetricsRouter(),
                    configuration: .init(
                        address: .hostname(settings.metricsHost ?? settings.host, port: metricsPort),
                        serverName: "free-agent-controller"),
                    logger: logger))
        }
        // Migrate before any service starts: the sweeper and the server both need the schema.
        try await Migrate.run(databaseConfiguration, logger: logger)
        logger.info("storage ready", metadata: ["backend": "\(settings.storage.backendName)"])
        try await app.runService()
    }
}

/// Applies pending migrations and exits.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    @Option(name: .customLong("database-url"), help: "DATABASE_URL (default from the environment).") var databaseURL: String?

    func run() async throws {
        guard let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            throw SettingsError(description: "DATABASE_URL is required")
        }
        let logger = ControllerLogging.controllerLogger()
        let version = try await Self.run(try DatabaseURL.configuration(from: url), logger: logger)
        print("schema at version \(version)")
    }

    /// Applies pending migrations with a short-lived client of its own; returns the schema version.
    @discardableResult
    static func run(_ configuration: PostgresClient.Configuration, logger: Logger) async throws -> Int {
        try await PostgresClient.withRunning(configuration, logger: logger) { client in
            let orchestrator = Orchestrator(client: client, configuration: OrchestratorConfiguration(), logger: logger)
            try await orchestrator.migrate()
            return try await orchestrator.appliedMigrations().last ?? 0
        }
    }
}

enum ControllerLogging {
    static func controllerLogger() -> Logger {
        ControllerLogFormat.bootstrap()
        var logger = Logger(label: "free-agent-controller")
        if let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) {
            logger.logLevel = level
        }
        return logger
    }
}
