public import Logging
import Foundation
import Metrics
import Synchronization

/// `LOG_FORMAT`: how log lines look. Both put one event on one line, with the request id, build id and worker id
/// as fields where the code knows them.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `ts=… level=info logger=… msg="…" request_id=… build_id=…` (the default).
    case logfmt
    /// One JSON object per line: `{"ts":"…","level":"info","logger":"…","msg":"…","request_id":"…"}`.
    case json
}

/// Writes each event as one line on standard error, in ``LogFormat``.
///
/// Values of metadata keys that name a credential (`token`, `password`, `secret`, `otp`, `authorization`,
/// `cookie`, `api_key`) are replaced by `[redacted]`: the code never logs one, and this makes sure a mistake
/// does not either. Line breaks and quotes in values are escaped, so a client's text cannot forge a line.
public struct StructuredLogHandler: LogHandler {
    public let label: String
    public let format: LogFormat
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    /// Where lines go; standard error unless a test collects them.
    public var sink: @Sendable (String) -> Void = StructuredLogHandler.standardError

    public init(label: String, format: LogFormat) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The event's level, message and metadata (the handler's own, then the event's, which wins). An error passed
    /// with the event is not written: its description may hold what no log line should (SQL, a path); the code
    /// says what failed in the message and its metadata instead.
    public func log(event: LogEvent) {
        var fields = metadata
        if let explicit = event.metadata { fields.merge(explicit) { _, new in new } }
        sink(render(level: event.level, message: "\(event.message)", fields: fields, at: Date()))
    }

    /// One line, without its line break.
    func render(level: Logger.Level, message: String, fields: Logger.Metadata, at date: Date) -> String {
        var pairs: [(String, String)] = [
            ("ts", date.formatted(Self.timestampStyle)),
            ("level", level.rawValue), ("logger", label), ("msg", message),
        ]
        for key in fields.keys.sorted() {
            guard let value = fields[key] else { continue }
            pairs.append((key, Self.isSecret(key) ? "[redacted]" : Self.flatten(value)))
        }
        switch format {
        case .logfmt:
            return pairs.map { "\(Self.logfmtKey($0.0))=\(Self.logfmtValue($0.1))" }.joined(separator: " ")
        case .json:
            return "{" + pairs.map { "\(Self.jsonString($0.0)):\(Self.jsonString($0.1))" }.joined(separator: ",") + "}"
        }
    }

    /// UTC with milliseconds and the `Z`: `2026-11-30T08:02:09.001Z`.
    private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return ["token", "password", "secret", "otp", "authorization", "cookie", "api_key", "apikey"]
            .contains { lowered.contains($0) }
    }

    private static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return "[" + values.map(flatten).joined(separator: ",") + "]"
        case .dictionary(let values):
            return "{" + values.keys.sorted().map { "\($0)=\(flatten(values[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    private static func logfmtKey(_ key: String) -> String {
        let cleaned = key.unicodeScalars.map { scalar -> Character in
            let unsafe = scalar.properties.isWhitespace || scalar == "=" || scalar == "\"" || scalar.value < 0x20
            return unsafe ? "_" : Character(scalar)
        }
        return cleaned.isEmpty ? "_" : String(cleaned)
    }

    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains {
            $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7f
        }
        guard needsQuotes else { return value }
        return "\"" + escaped(value) + "\""
    }

    static func jsonString(_ value: String) -> String { "\"" + escaped(value) + "\"" }

    /// JSON string escaping, which is also what logfmt readers accept inside quotes.
    private static func escaped(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    private static let writeLock = Mutex(())

    @Sendable public static func standardError(_ line: String) {
        let data = Data((line + "\n").utf8)
        writeLock.withLock { _ in FileHandle.standardError.write(data) }
    }
}

/// Database pool figures for `/metrics`. postgres-nio 1.33 exposes no pool figures in its API; its pool reports
/// connection attempts, failures and closes as debug messages on the client's background logger (it never
/// reports leases). This handler counts those events and forwards only the messages at or above the operator's
/// level to the real handler. Sessions by state (busy or idle) come from `pg_stat_activity` at scrape time.
public struct PoolUsageLogHandler: LogHandler {
    var wrapped: any LogHandler

    public init(wrapped: any LogHandler) { self.wrapped = wrapped }

    /// postgres-nio must emit its debug events for them to be counted; the wrapped handler keeps its own level.
    public var logLevel: Logger.Level {
        get { .debug }
        set { wrapped.logLevel = newValue }
    }
    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        PoolUsage.shared.observe("\(event.message)")
        if event.level >= wrapped.logLevel { wrapped.log(event: event) }
    }
}

/// The counts behind `fac_db_pool_connections{state="open"}` and `fac_db_pool_connect_failures_total`.
public final class PoolUsage: Sendable {
    static let shared = PoolUsage()

    private let open = Atomic<Int>(0)
    private let openGauge = Gauge(label: "fac_db_pool_connections", dimensions: [("state", "open")])
    private let failures = Counter(label: "fac_db_pool_connect_failures_total")

    /// Message texts of postgres-nio 1.33.2's `PostgresClientMetrics`.
    func observe(_ message: String) {
        switch message {
        case "Creating new connection": openGauge.record(open.add(1, ordering: .relaxed).newValue)
        case "Connection creation failed":
            failures.increment()
            openGauge.record(open.subtract(1, ordering: .relaxed).newValue)
        case "Connection closed": openGauge.record(open.subtract(1, ordering: .relaxed).newValue)
        default: break
        }
    }

    /// The pool's configured ceiling.
    public static func recordMaximum(_ maximum: Int) {
        Gauge(label: "fac_db_pool_max_connections").record(maximum)
    }
}
