import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Testing

/// `docs/openapi.yaml` is the contract's machine-readable form: the server serves it as is, and it names exactly
/// the routes of the route table, so a route cannot ship without its entry (nor an entry outlive its route).
@Suite struct OpenAPITests {
    typealias F = GatewayFixture

    /// `docs/openapi.yaml` of this checkout.
    static var documentOnDisk: [UInt8] {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            return Array(try Data(contentsOf: root.appendingPathComponent("docs/openapi.yaml")))
        }
    }

    /// `METHOD /path` of every operation, from a line-based scan: path keys are indented two spaces under
    /// `paths:`, method keys four.
    static func operations(in yaml: String) -> Set<String> {
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var result: Set<String> = []
        var inPaths = false
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") { inPaths = line == "paths:"; path = nil; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"), let path {
                let key = String(line.dropFirst(4).dropLast())
                if methods.contains(key) { result.insert("\(key.uppercased()) \(path)") }
            }
        }
        return result
    }

    @Test func theDocumentIsServedWithoutCredentials_byteForByteAsInDocs() async throws {
        try await F.run { f in
            let response = try await f.request(.get, "/api/openapi.yaml")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/yaml")
            #expect(response.bytes == (try Self.documentOnDisk), "OpenAPIDocument.swift differs from docs/openapi.yaml")
        }
    }

    @Test func theDocumentListsExactlyTheRoutesOfTheRouteTable() async throws {
        try await F.run { f in
            let table = Set(f.gateway.routeTable().map { route in
                let path = route.path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
                    segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                }.joined(separator: "/")
                return "\(route.method.rawValue.uppercased()) \(path)"
            })
            let documented = Self.operations(in: String(decoding: try Self.documentOnDisk, as: UTF8.self))
            #expect(table.subtracting(documented).sorted() == [], "routes without an entry in docs/openapi.yaml")
            #expect(documented.subtracting(table).sorted() == [], "entries in docs/openapi.yaml without a route")
            #expect(documented.count == table.count)
        }
    }

    /// Schemathesis found it: `wait=1e308` is finite, but `wait * 1000` is not, and converting it to Int64 trapped
    /// and took the whole server down for any authenticated worker.
    @Test func poll_withAHugeFiniteWait_answersInsteadOfCrashing() async throws {
        try await F.run(gateway: { $0.longPollMaxWait = .milliseconds(100) }) { f in
            let worker = try await f.registerWorker()
            for wait in ["1.7632934053772742e%2B308", "1e19", "9223372036854775807"] {
                let response = try await f.request(.get, "/api/workers/poll?wait=\(wait)", headers: F.workerToken(worker.token))
                #expect(response.status == .ok, "wait=\(wait)")
            }
        }
    }
}
