import Logging
import PostgresNIO

extension PostgresClient {
    /// A pool for the duration of `body` alone (migrations, one-off commands, tests): runs the pool in a child
    /// task and cancels it when `body` returns.
    ///
    /// `body` starts only once the child task has entered `run()`; a query sent before that still works, but the
    /// pool logs a warning ("run() hasn't been called yet") for it.
    public static func withRunning<Result: Sendable>(
        _ configuration: PostgresClient.Configuration, logger: Logger, _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let (running, entered) = AsyncStream<Never>.makeStream()
            group.addTask {
                entered.finish()
                await client.run()
            }
            defer { group.cancelAll() }
            for await _ in running {}
            return try await body(client)
        }
    }
}
