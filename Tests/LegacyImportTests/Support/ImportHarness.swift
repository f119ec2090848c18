import ArtifactStore
import CertVault
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LegacyImport
import Logging
import NIOCore
import Orchestrator
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// A controller on a fresh schema and a fresh store folder, to import into and to read back through HTTP.
struct ImportHarness: Sendable {
    static let apiKey = "test-api-key-0123456789abcdefghijklmnopqrstuvwxyz"

    let orchestrator: Orchestrator
    let client: PostgresClient
    let database: TestDatabase
    let store: ArtifactStore
    let vault: CertVault
    let storeRoot: String

    static func run(_ body: @escaping @Sendable (ImportHarness) async throws -> Void) async throws {
        try await OrchestratorFixture.run { fixture in
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("fac-import-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let store = try ArtifactStore(configuration: .init(root: root))
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let vault = CertVault(keyRing: try KeyRing.load(environmentValue: key, filePath: nil), storage: store)
            try await body(
                ImportHarness(
                    orchestrator: fixture.orchestrator, client: fixture.client, database: fixture.database, store: store,
                    vault: vault, storeRoot: root))
        }
    }

    /// Runs an import (or a dry run) of `fixture`; the tokens it hands out are collected in `tokens`.
    func runImport(
        _ fixture: LegacyFixture, dryRun: Bool = false, certsGrace: Duration = .seconds(86_400),
        tokens: TokenLog = TokenLog()
    ) async throws -> ImportReport {
        var configuration = LegacyImporter.Configuration(
            sqlitePath: fixture.databasePath, storagePath: fixture.storagePath, certsGrace: certsGrace)
        configuration.dryRun = dryRun
        configuration.buildPageSize = 7  // several pages even for small fixtures
        configuration.rowPageSize = 50
        var logger = Logger(label: "import-test")
        logger.logLevel = .warning
        let importer = LegacyImporter(
            configuration: configuration, orchestrator: orchestrator, store: dryRun ? nil : store,
            vault: dryRun ? nil : vault, logger: logger
        ) { event in
            if case .tokensIssued(let issued) = event { tokens.append(issued) }
        }
        return try await importer.run()
    }

    /// Drives the real router (authentication, Orchestrator lookup) in-process.
    func http(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "import-gateway-test")
        logger.logLevel = .warning
        let gateway = Gateway(
            configuration: GatewayConfiguration(apiKey: Self.apiKey), orchestrator: orchestrator, store: store, vault: vault,
            queueSignal: QueueSignal(), logger: logger)
        let app = Application(router: gateway.makeRouter(), logger: logger)
        try await app.test(.router) { client in try await body(client) }
    }

    /// One row per query result, each cell rendered as text: a comparable picture of a table.
    func rows(_ query: PostgresQuery) async throws -> [[String]] {
        try await Self.rows(client, query)
    }

    static func rows(_ client: PostgresClient, _ query: PostgresQuery) async throws -> [[String]] {
        var result: [[String]] = []
        for try await row in try await client.query(query) {
            result.append(try row.makeRandomAccess().map { cell in try cell.decode(String?.self) ?? "NULL" })
        }
        return result
    }
}

/// Tokens handed out during an import, in order.
final class TokenLog: Sendable {
    private let storage = Mutex<[ImportReport.IssuedToken]>([])
    func append(_ tokens: [ImportReport.IssuedToken]) { storage.withLock { $0.append(contentsOf: tokens) } }
    var all: [ImportReport.IssuedToken] { storage.withLock { $0 } }
}

extension TestClientProtocol {
    func get(_ path: String, token: String? = nil, apiKey: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[HTTPField.Name("X-Build-Token")!] = token }
        if let apiKey { headers[HTTPField.Name("X-API-Key")!] = apiKey }
        return try await execute(uri: path, method: .get, headers: headers, body: nil)
    }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }
}
