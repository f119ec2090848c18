import Foundation
import Gateway
import Logging
import Synchronization

/// Reads `LOG_FORMAT` and bootstraps swift-log with the Gateway's ``StructuredLogHandler``.
enum ControllerLogFormat {
    /// Bootstraps swift-log once in the format `LOG_FORMAT` names (logfmt when it names none; `serve` refuses
    /// an unknown value before it logs anything, see `Settings`).
    static func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let format = (try? parse(environment["LOG_FORMAT"])) ?? .logfmt
        bootstrapOnce.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, format: format) }
        }
    }

    static func parse(_ value: String?) throws -> LogFormat {
        guard let value, !value.isEmpty else { return .logfmt }
        guard let format = LogFormat(rawValue: value.lowercased()) else {
            throw SettingsError(description: "LOG_FORMAT must be logfmt or json")
        }
        return format
    }

    private static let bootstrapOnce = Mutex(false)
}
