import ArtifactStore
import CertVault
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Orchestrator
import PostgresNIO
import Testing

/// A controller whose database cannot be reached answers 503 and writes nothing.
@Suite struct DatabaseDownTests {
    @Test func health_and_apiCalls_answer503_whenTheDatabaseIsUnreachable() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fac-down-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        var logger = Logger(label: "db-down")
        logger.logLevel = .critical
        // Port 1 on loopback: nothing listens there.
        var configuration = PostgresClient.Configuration(host: "127.0.0.1", port: 1, username: "x", password: nil, database: "x", tls: .disable)
        configuration.options.connectTimeout = .milliseconds(200)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let store = try ArtifactStore(configuration: .init(root: root))
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let gateway = Gateway(
            configuration: GatewayConfiguration(apiKey: GatewayFixture.apiKey),
            orchestrator: Orchestrator(client: client, configuration: OrchestratorConfiguration(), logger: logger),
            store: store, vault: CertVault(keyRing: try KeyRing.load(environmentValue: key, filePath: nil), storage: store),
            queueSignal: QueueSignal(), logger: logger)
        let app = Application(router: gateway.makeRouter(), services: [client], logger: logger)
        try await app.test(.router) { client in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .serviceUnavailable)
            #expect(health.errorMessage == "Database unavailable")
            #expect(health.headers[.accessControlAllowOrigin] == "*")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }
}
