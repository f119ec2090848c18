public import Foundation
import Identifiers
public import Logging
public import Orchestrator
public import PostgresNIO

/// An Orchestrator on a fresh schema, plus factories that put builds and workers into any state.
public struct OrchestratorFixture: Sendable {
    public let orchestrator: Orchestrator
    public let database: TestDatabase
    public let client: PostgresClient

    /// Runs `body` with a migrated schema and an Orchestrator configured by `configure`.
    @discardableResult
    public static func run<Result: Sendable>(
        configure: (inout OrchestratorConfiguration) -> Void = { _ in },
        _ body: (OrchestratorFixture) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.withSchema { database, client in
            var configuration = OrchestratorConfiguration()
            configuration.notificationChannel = database.schema
            configure(&configuration)
            let orchestrator = Orchestrator(client: client, configuration: configuration, logger: Logger(label: "test"))
            try await orchestrator.migrate()
            return try await body(OrchestratorFixture(orchestrator: orchestrator, database: database, client: client))
        }
    }

    /// Submits a build with a fresh id and token; returns its id.
    @discardableResult
    public func submitBuild(platform: String = "ios", withCerts: Bool = false) async throws -> String {
        let id = BuildID.random().rawValue
        _ = try await orchestrator.submit(
            NewBuild(
                id: id, platform: platform, accessTokenDigest: SecretToken.generate().digest.bytes, sourceSize: 10,
                sourceSHA256: String(repeating: "0", count: 64),
                sealedCerts: withCerts ? SealedCertsReference(wrappedKey: [1, 2, 3], keyVersion: 1) : nil))
        return id
    }

    /// Registers a worker; returns its id.
    @discardableResult
    public func registerWorker(id: String? = nil, platforms: [String]? = nil) async throws -> String {
        let capabilities = platforms.map { "{\"platforms\":[\($0.map { "\"\($0)\"" }.joined(separator: ","))]}" } ?? "{}"
        return try await orchestrator.register(
            Registration(
                proposedID: id, name: "worker", capabilitiesJSON: capabilities, activeBuildCount: nil,
                tokenDigest: SecretToken.generate().digest.bytes)
        ).workerID
    }

    /// Polls as `worker` on the token path (any platform).
    public func poll(_ worker: String) async throws -> AssignedJob? {
        try await orchestrator.poll(
            PollRequest(workerID: worker, platforms: nil, onlyIOSWithCerts: false, otpDigest: SecretToken.generate().digest.bytes))
    }
}
