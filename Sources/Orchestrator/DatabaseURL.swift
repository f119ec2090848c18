import Foundation
public import PostgresNIO

/// Reads a `postgres://user:password@host:port/database?sslmode=...` URL into a client configuration.
public enum DatabaseURL {
    /// Throws ``OrchestratorError/Code/invalidConfiguration`` with a message that never repeats the password.
    public static func configuration(from text: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else { throw OrchestratorError.invalidConfiguration("DATABASE_URL must look like postgres://user:password@host:port/database") }
        guard let user = components.user, !user.isEmpty else {
            throw OrchestratorError.invalidConfiguration("DATABASE_URL has no user name")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let sslMode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw OrchestratorError.invalidConfiguration("DATABASE_URL has an unknown sslmode")
        }
        if let host = components.host, !host.isEmpty {
            return PostgresClient.Configuration(
                host: host, port: components.port ?? 5432, username: user, password: components.password,
                database: database.isEmpty ? nil : database, tls: tls)
        }
        // postgres://user@/db?host=/path/to/socket-dir
        guard let socketDirectory = components.queryItems?.first(where: { $0.name == "host" })?.value else {
            throw OrchestratorError.invalidConfiguration("DATABASE_URL has no host")
        }
        let port = components.port ?? 5432
        return PostgresClient.Configuration(
            unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: components.password,
            database: database.isEmpty ? nil : database)
    }
}
