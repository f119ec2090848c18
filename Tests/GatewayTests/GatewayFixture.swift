import ArtifactStore
import AsyncHTTPClient
import CertVault
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import Orchestrator
import PostgresNIO
import S3Storage
import TestSupport
import Testing

/// A whole controller on a fresh schema and a fresh storage folder (filesystem) or a fresh prefix of moto's
/// bucket (s3), driven through HTTP.
struct GatewayFixture: Sendable {
    static let apiKey = "test-api-key-0123456789abcdefghijklmnopqrstuvwxyz"

    let client: any TestClientProtocol
    let gateway: Gateway
    let orchestrator: Orchestrator
    let storageRoot: String
    /// The test's own schema (for `pg_dump --schema=`), and a configuration for more clients on it.
    let database: TestDatabase
    /// The bucket's client when the store is the S3 driver (its prefix is the test's own); `nil` for the filesystem.
    var s3: S3Client? = nil

    /// Runs `body` against a controller configured by `configure`, its store on `storage`.
    static func run(
        _ setup: TestingSetup = .router,
        storage: TestBackend = .filesystem,
        orchestrator configureOrchestrator: @escaping @Sendable (inout OrchestratorConfiguration) -> Void = { _ in },
        gateway configureGateway: @escaping @Sendable (inout GatewayConfiguration) -> Void = { _ in },
        keyRing: KeyRing? = nil,
        logger customLogger: Logger? = nil,
        _ body: @escaping @Sendable (GatewayFixture) async throws -> Void
    ) async throws {
        try await OrchestratorFixture.run(configure: configureOrchestrator) { fixture in
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("fac-gw-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let s3: S3Client?
            let store: ArtifactStore
            switch storage {
            case .filesystem:
                s3 = nil
                store = try ArtifactStore(configuration: .init(root: root))
            case .s3:
                let client = MotoEnvironment.client(try MotoEnvironment.configuration())
                var storeLogger = Logger(label: "s3-test")
                storeLogger.logLevel = .warning
                s3 = client
                store = ArtifactStore(configuration: .init(root: root), backend: S3Backend(client: client, logger: storeLogger))
            }
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let vault = CertVault(keyRing: try keyRing ?? KeyRing.load(environmentValue: key, filePath: nil), storage: store)
            var configuration = GatewayConfiguration(apiKey: apiKey)
            configuration.longPollRecheck = .milliseconds(200)
            configureGateway(&configuration)
            let signal = QueueSignal()
            var logger = customLogger ?? Logger(label: "gateway-test")
            if customLogger == nil { logger.logLevel = .warning }
            let gateway = Gateway(
                configuration: configuration, orchestrator: fixture.orchestrator, store: store, vault: vault,
                queueSignal: signal, logger: logger)
            // The controller's own server (idle timeout; HTTPS when the test set TLS files).
            var app = Application(
                router: gateway.makeRouter(), server: try gateway.serverBuilder(),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
            app.addServices(
                QueueListener(client: fixture.client, channel: fixture.orchestrator.configuration.notificationChannel,
                              signal: signal, logger: logger))
            do {
                try await app.test(setup) { client in
                    try await body(GatewayFixture(client: client, gateway: gateway, orchestrator: fixture.orchestrator, storageRoot: root,
                                               database: fixture.database, s3: s3))
                }
            } catch {
                if let s3 { await s3.removeEverything(prefix: s3.configuration.prefix) }
                throw error
            }
            if let s3 { await s3.removeEverything(prefix: s3.configuration.prefix) }
        }
    }

    // MARK: Requests

    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: [UInt8]? = nil
    ) async throws -> TestResponse {
        try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
    }

    @discardableResult
    func json(
        _ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], _ object: [String: Any]? = nil
    ) async throws -> TestResponse {
        var headers = headers
        var body: [UInt8]?
        if let object {
            headers[.contentType] = "application/json"
            body = Array(try JSONSerialization.data(withJSONObject: object))
        }
        return try await request(method, path, headers: headers, body: body)
    }

    func multipart(_ path: String, headers: HTTPFields = [:], _ form: MultipartBody) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = form.contentType
        return try await request(.post, path, headers: headers, body: form.finished())
    }

    // MARK: Clients' steps

    static var key: HTTPFields { [HTTPField.Name("X-API-Key")!: apiKey] }
    static func buildToken(_ token: String) -> HTTPFields { [HTTPField.Name("X-Build-Token")!: token] }
    static func workerToken(_ token: String) -> HTTPFields { [HTTPField.Name("X-Worker-Token")!: token] }
    static func vmToken(_ token: String) -> HTTPFields { [HTTPField.Name("X-VM-Token")!: token] }

    /// Submits as the CLI does (a ZIP named project.tar.gz typed application/gzip); returns id and token.
    func submit(platform: String = "ios", certs: Bool = false, source: [UInt8] = ZipBuilder.source()) async throws -> (id: String, token: String) {
        var form = MultipartBody()
        form.file("source", filename: "project.tar.gz", contentType: "application/gzip", source)
        form.field("platform", platform)
        if certs { form.file("certs", filename: "certs.zip", ZipBuilder.certs()) }
        let response = try await multipart("/api/builds/submit", headers: Self.key, form)
        try #require(response.status == .ok, "submit answered \(response.status): \(String(buffer: response.body))")
        let object = try response.object()
        return (try #require(object["id"] as? String), try #require(object["access_token"] as? String))
    }

    /// Registers a worker with the API key; returns its id and token.
    func registerWorker(platforms: [String] = ["ios"], id: String? = nil) async throws -> (id: String, token: String) {
        var body: [String: Any] = ["name": "mac-mini", "capabilities": ["platforms": platforms]]
        if let id { body["id"] = id }
        let response = try await json(.post, "/api/workers/register", headers: Self.key, body)
        try #require(response.status == .ok)
        let object = try response.object()
        return (try #require(object["id"] as? String), try #require(object["access_token"] as? String))
    }

    /// Moves the expiry of every token of `worker`, instead of sleeping until it comes.
    func setTokenExpiry(of worker: String, secondsFromNow seconds: Int) async throws {
        try await orchestrator.client.query(
            "UPDATE worker_tokens SET expires_at = now() + \(Double(seconds)) * interval '1 second' WHERE worker_id = \(worker)")
    }

    // MARK: The store, whatever the backend

    /// Everything the store holds: every file under the storage root (filesystem); every object and unfinished
    /// multipart upload (`upload:<key>`) under the test's prefix (s3). For "nothing at all was left" checks.
    func storedEverything() async throws -> [String] {
        guard let s3 else { return storedFiles() }
        let prefix = s3.configuration.prefix
        let upload = "upload:"
        return try await s3.inventory(prefix: prefix).map { name in
            name.hasPrefix(upload) ? upload + name.dropFirst(upload.count + prefix.count) : String(name.dropFirst(prefix.count))
        }
    }

    /// The committed blobs, as `blobs/<kind>/...` (the build id is in every name).
    func storedObjects() async throws -> [String] {
        try await storedEverything().filter { $0.hasPrefix("blobs/") }
    }

    /// What a failed or abandoned upload could leave: temporary files (filesystem); staging objects, probes and
    /// unfinished multipart uploads (s3).
    func storeLeftovers() async throws -> [String] {
        try await storedEverything().filter { !$0.hasPrefix("blobs/") }
    }

    /// Waits (bounded, 5 s) until ``storeLeftovers()`` is empty and returns what is left then: the server notices
    /// a hang-up or a refused body asynchronously, so its cleanup may trail the answer by a moment.
    func settledLeftovers() async throws -> [String] {
        var leftovers = try await storeLeftovers()
        for _ in 0..<100 where !leftovers.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            leftovers = try await storeLeftovers()
        }
        return leftovers
    }

    /// The bytes of every committed blob and staged object (name and contents), for scans of what is at rest.
    /// Unfinished multipart uploads cannot be read back: the s3 scan expects there are none.
    func storedContents() async throws -> [(name: String, bytes: Data)] {
        guard let s3 else {
            return try storedFiles().map { ($0, try Data(contentsOf: URL(fileURLWithPath: storageRoot + "/" + $0))) }
        }
        let prefix = s3.configuration.prefix
        var contents: [(name: String, bytes: Data)] = []
        for object in try await s3.listObjects(prefix: prefix) {
            let response = try await s3.getObject(object.key, range: nil, ifMatch: nil)
            try #require(response.status.code == 200, "GET \(object.key) answered \(response.status)")
            let body = try await response.body.collect(upTo: 64 << 20)
            contents.append((String(object.key.dropFirst(prefix.count)), Data(body.readableBytesView)))
        }
        return contents
    }

    /// Files under the storage root, for "nothing was left behind" checks (the filesystem backend only).
    func storedFiles() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: storageRoot)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: storageRoot + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(path)
            }
        }
        return files
    }
}

extension TestResponse {
    /// The body as a JSON object.
    func object() throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return try #require(value as? [String: Any], "not a JSON object: \(String(buffer: body))")
    }

    /// The `error` message of a JSON error body.
    var errorMessage: String? { (try? object())?["error"] as? String }

    var bytes: [UInt8] { Array(body.readableBytesView) }
}

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self = ByteBuffer()
        writeBytes(bytes)
    }
}
