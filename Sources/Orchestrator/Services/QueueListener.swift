import AsyncAlgorithms
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Listens on the queue's `NOTIFY` channel and fires the ``QueueSignal`` of this process, so a build submitted
/// through any controller process wakes long-polls held by this one.
///
/// When the listening connection breaks it reconnects after a pause and fires the signal once, since a
/// notification may have been missed meanwhile; long-polls also re-check on their own every few seconds.
public struct QueueListener: Service {
    let client: PostgresClient
    let channel: String
    let signal: QueueSignal
    let logger: Logger
    /// The pause before listening again after the connection broke.
    let reconnectDelay: Duration

    public init(client: PostgresClient, channel: String, signal: QueueSignal, logger: Logger,
                reconnectDelay: Duration = .seconds(1)) {
        self.client = client
        self.channel = channel
        self.signal = signal
        self.logger = logger
        self.reconnectDelay = reconnectDelay
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: channel) { notifications in
                            signal.signal()
                            for try await _ in notifications { signal.signal() }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("queue listener lost its connection", metadata: [
                        "error": "\(DatabaseErrorSummary.describe(error))",
                    ])
                }
                try? await Task.sleep(for: reconnectDelay)
            }
        }
    }
}
