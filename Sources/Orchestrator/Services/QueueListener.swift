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
    /// Fired on every notification (a build queued or any status change): the dashboards' live feed.
    let changes: QueueSignal?
    let logger: Logger
    /// The pause before listening again after the connection broke.
    let reconnectDelay: Duration

    public init(client: PostgresClient, channel: String, signal: QueueSignal, changes: QueueSignal? = nil,
                logger: Logger, reconnectDelay: Duration = .seconds(1)) {
        self.client = client
        self.channel = channel
        self.signal = signal
        self.changes = changes
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
                            changes?.signal()
                            for try await notification in notifications {
                                // Status changes ('changed') concern dashboards only; long-polls wait for 'queued'.
                                if notification.payload != "changed" { signal.signal() }
                                changes?.signal()
                            }
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
