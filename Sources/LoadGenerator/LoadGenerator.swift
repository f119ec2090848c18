import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// `fac-loadgen`: simulated CLIs and workers against running controllers on 127.0.0.1, for benchmarks/run.sh.
///
/// Each run prints one JSON line on stdout (for the script) and a summary for people on stderr. Every run is
/// bounded: by its counts, and by `--max-seconds` whatever happens.
@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fac-loadgen",
        abstract: "Load for Free Agent Controller benchmarks (127.0.0.1 only).",
        subcommands: [AssignCommand.self, EndToEndCommand.self, IdleCommand.self]
    )
}

/// Options every run takes.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("url"), help: "A controller, http://127.0.0.1:<port>; repeat it to spread the workers over several.")
    var urls: [String] = ["http://127.0.0.1:3000"]

    @Option(name: .customLong("api-key"), help: "The controller's API key (default: $CONTROLLER_API_KEY).")
    var apiKey: String?

    @Option(help: "Event-loop threads of the HTTP client.")
    var threads: Int = 1

    @Option(name: .customLong("max-seconds"), help: "The whole run stops with an error after this long.")
    var maxSeconds: Int = 600

    @Option(name: .customLong("call-timeout"), help: "Seconds one call may take (a long-poll adds its wait).")
    var callTimeout: Int = 60

    func validate() throws {
        guard !urls.isEmpty, urls.allSatisfy({ LoopbackURL($0) != nil }) else {
            throw ValidationError("--url must be http://127.0.0.1:<port> (the load generator talks to nothing else)")
        }
        guard (1...16).contains(threads) else { throw ValidationError("--threads must be 1-16") }
        guard maxSeconds > 0, callTimeout > 0 else { throw ValidationError("--max-seconds and --call-timeout must be positive") }
        guard resolvedAPIKey != nil else { throw ValidationError("--api-key or CONTROLLER_API_KEY is required") }
    }

    var resolvedAPIKey: String? {
        if let apiKey, !apiKey.isEmpty { return apiKey }
        if let key = ProcessInfo.processInfo.environment["CONTROLLER_API_KEY"], !key.isEmpty { return key }
        return nil
    }

    /// Runs `body` with one client per controller URL sharing one HTTP client, then shuts the client down.
    func withClients<T: Sendable>(
        connections: Int, _ body: @escaping @Sendable ([ControllerClient]) async throws -> T
    ) async throws -> T {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .seconds(10)),
            connectionPool: .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        )
        configuration.httpVersion = .http1Only
        let http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        let key = resolvedAPIKey ?? ""
        let clients = urls.compactMap(LoopbackURL.init).map {
            ControllerClient(http: http, base: $0, apiKey: key, callTimeout: .seconds(Int64(callTimeout)))
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await withTimeLimit(.seconds(maxSeconds), "the run") { try await body(clients) })
        } catch {
            result = .failure(error)
        }
        try? await http.shutdown()
        try? await group.shutdownGracefully()
        return try result.get()
    }
}

/// Writes the run's JSON line on stdout and its summary on stderr.
func report<T: Encodable>(_ result: T, summary: [String]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let line = String(decoding: try encoder.encode(result), as: UTF8.self)
    FileHandle.standardError.write(Data((summary.map { "  " + $0 }.joined(separator: "\n") + "\n").utf8))
    print(line)
}

/// Progress for people, on stderr.
func note(_ text: String) {
    FileHandle.standardError.write(Data("fac-loadgen: \(text)\n".utf8))
}
