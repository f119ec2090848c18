import Foundation
public import Hummingbird
import NIOCore
import Orchestrator
import Prometheus

extension Gateway {
    /// `GET /metrics`: this process's counters and histograms, plus the queue figures read from the database at
    /// scrape time (the same on every process; `fac_database_up` is 0 when they could not be read).
    func metrics() async -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(Observability.registry.emitToBuffer())
        // Written per scrape rather than kept in the registry: they are the database's figures at this moment,
        // and two scrapes (or two test schemas) must not overwrite each other's.
        var text = ""
        do {
            let figures = try await orchestrator.queueFigures()
            text += "# HELP fac_queue_depth Pending builds per platform (database-wide).\n"
            text += "# TYPE fac_queue_depth gauge\n"
            for (platform, depth) in figures.pendingByPlatform.sorted(by: { $0.key < $1.key }) {
                text += "fac_queue_depth{platform=\"\(Self.labelValue(platform))\"} \(depth)\n"
            }
            text += "# HELP fac_builds Builds per status (database-wide).\n# TYPE fac_builds gauge\n"
            for (status, count) in figures.buildsByStatus.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                text += "fac_builds{status=\"\(status.rawValue)\"} \(count)\n"
            }
            let states = try await orchestrator.connectionStates()
            if !states.isEmpty {
                text += "# HELP fac_db_connections This process's database sessions by state (pg_stat_activity).\n"
                text += "# TYPE fac_db_connections gauge\n"
                for (state, count) in states.sorted(by: { $0.key < $1.key }) {
                    text += "fac_db_connections{state=\"\(Self.labelValue(state))\"} \(count)\n"
                }
            }
            text += Self.databaseUp(true)
        } catch {
            text += Self.databaseUp(false)
        }
        buffer.writeString(text)
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/plain; version=0.0.4; charset=utf-8", .contentLength: "\(buffer.readableBytes)",
                .cacheControl: "no-store",
            ],
            body: ResponseBody(byteBuffer: buffer))
    }

    private static func databaseUp(_ up: Bool) -> String {
        "# HELP fac_database_up Whether this scrape could read the database.\n# TYPE fac_database_up gauge\n"
            + "fac_database_up \(up ? 1 : 0)\n"
    }

    /// Escapes a label value as the text format wants (`\\`, `"`, line feed).
    static func labelValue(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A router serving `GET /metrics` alone, without credentials, for `METRICS_PORT`: bind it to an address
    /// only the scraper reaches.
    public func makeMetricsRouter() -> Router<BasicRequestContext> {
        Observability.bootstrapMetrics()
        let router = Router(context: BasicRequestContext.self)
        router.get("/metrics") { _, _ in await metrics() }
        return router
    }
}
