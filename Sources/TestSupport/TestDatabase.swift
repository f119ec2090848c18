import Foundation
public import Logging
import Orchestrator
public import PostgresNIO

/// A throwaway schema in the test cluster that `scripts/test.sh` starts, so tests run in parallel, each alone.
///
/// The cluster's address comes from `FAC_TEST_DATABASE_URL`. Every test gets a fresh schema with the migrations
/// applied, used through the connections' `search_path`, and dropped at the end.
public struct TestDatabase: Sendable {
    public static let environmentVariable = "FAC_TEST_DATABASE_URL"

    /// The schema of this test.
    public let schema: String
    /// A configuration for more clients on the same schema (e.g. a second controller process).
    public let configuration: PostgresClient.Configuration

    /// The base configuration, or a clear failure when the test command did not provide a database.
    public static func baseConfiguration() throws -> PostgresClient.Configuration {
        guard let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty else {
            throw TestDatabaseError(
                message: "\(environmentVariable) is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
        }
        return try DatabaseURL.configuration(from: url)
    }

    /// Runs `body` with a fresh migrated schema and a running client on it; drops the schema afterwards.
    public static func withSchema<Result: Sendable>(
        _ body: (TestDatabase, PostgresClient) async throws -> Result
    ) async throws -> Result {
        let base = try baseConfiguration()
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let logger = Logger(label: "test-db")
        _ = try await withClient(base, logger: logger) { admin in
            try await admin.query("CREATE SCHEMA \(unescaped: schema)", logger: logger)
        }
        var configuration = base
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        configuration.options.maximumConnections = 8
        let database = TestDatabase(schema: schema, configuration: configuration)
        do {
            let result = try await withClient(configuration, logger: logger) { client in
                try await body(database, client)
            }
            try await database.drop(base: base, logger: logger)
            return result
        } catch {
            try? await database.drop(base: base, logger: logger)
            throw error
        }
    }

    private func drop(base: PostgresClient.Configuration, logger: Logger) async throws {
        _ = try await Self.withClient(base, logger: logger) { admin in
            try await admin.query("DROP SCHEMA \(unescaped: schema) CASCADE", logger: logger)
        }
    }

    /// Runs a client for the duration of `body`.
    public static func withClient<Result: Sendable>(
        _ configuration: PostgresClient.Configuration, logger: Logger,
        _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        try await PostgresClient.withRunning(configuration, logger: logger, body)
    }
}

/// The test database could not be set up.
public struct TestDatabaseError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
