import AsyncHTTPClient
import Foundation
import Gateway
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// With `TLS_CERT_FILE`/`TLS_KEY_FILE` the controller serves HTTPS itself: a whole build over TLS, with a client
/// that trusts only the test's own self-signed certificate (full verification, host name included).
@Suite struct TLSTests {
    typealias F = GatewayFixture

    /// A self-signed certificate for `localhost` and 127.0.0.1, made with the `openssl` CLI in a fresh folder.
    struct SelfSigned {
        let folder: URL
        var certificate: String { folder.appendingPathComponent("cert.pem").path }
        var key: String { folder.appendingPathComponent("key.pem").path }

        static func make() throws -> SelfSigned {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fac-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let openssl = Process()
            openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            openssl.arguments = [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", folder.appendingPathComponent("key.pem").path, "-out", folder.appendingPathComponent("cert.pem").path,
                "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ]
            openssl.standardOutput = FileHandle.nullDevice
            openssl.standardError = FileHandle.nullDevice
            try openssl.run()
            openssl.waitUntilExit()
            try #require(openssl.terminationStatus == 0, "openssl req failed")
            return SelfSigned(folder: folder)
        }
    }

    /// An HTTPS client that trusts `certificate` and nothing else.
    static func client(trusting certificate: String) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        tls.certificateVerification = .fullVerification
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    static func send(
        _ client: HTTPClient, _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> (status: Int, body: [UInt8], version: HTTPVersion) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), Array(bytes.readableBytesView), response.version)
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func aWholeBuild_overHTTPS_withAClientThatTrustsTheCertificate() async throws {
        let certificate = try SelfSigned.make()
        defer { try? FileManager.default.removeItem(at: certificate.folder) }
        try await F.run(.ahc(.https), gateway: {
            $0.tlsCertificateFile = certificate.certificate
            $0.tlsKeyFile = certificate.key
        }) { f in
            let base = "https://localhost:\(try #require(f.client.port))"
            let client = try Self.client(trusting: certificate.certificate)
            do {
                let key = ("X-API-Key", F.apiKey)
                // Submit, as the CLI does.
                let source = ZipBuilder.source()
                var form = MultipartBody()
                form.file("source", filename: "project.tar.gz", contentType: "application/gzip", source)
                form.field("platform", "ios")
                let submitted = try await Self.send(
                    client, .POST, "\(base)/api/builds/submit", headers: [key, ("Content-Type", form.contentType)], body: form.finished())
                #expect(submitted.status == 200)
                // ALPN offers h2 as well as http/1.1; a client that speaks it gets it.
                #expect(submitted.version == .http2)
                let build = try Self.object(submitted.body)
                let id = try #require(build["id"] as? String)
                let buildToken = try #require(build["access_token"] as? String)

                // A worker registers, polls, fetches the source and uploads the result.
                let registered = try await Self.send(
                    client, .POST, "\(base)/api/workers/register", headers: [key, ("Content-Type", "application/json")],
                    body: Array(#"{"name":"mac","capabilities":{"platforms":["ios"]}}"#.utf8))
                let workerToken = try #require(try Self.object(registered.body)["access_token"] as? String)
                let worker = ("X-Worker-Token", workerToken)
                let poll = try await Self.send(client, .GET, "\(base)/api/workers/poll", headers: [worker])
                #expect((try Self.object(poll.body)["job"] as? [String: Any])?["id"] as? String == id)
                let fetched = try await Self.send(client, .GET, "\(base)/api/builds/\(id)/source", headers: [worker])
                #expect(fetched.status == 200)
                #expect(fetched.body == source)

                let artifact = ZipBuilder.result("over TLS")
                var upload = MultipartBody()
                upload.field("build_id", id)
                upload.field("success", "true")
                upload.file("result", filename: "app.ipa", contentType: "application/octet-stream", artifact)
                let uploaded = try await Self.send(
                    client, .POST, "\(base)/api/workers/upload", headers: [worker, ("Content-Type", upload.contentType)],
                    body: upload.finished())
                #expect(uploaded.status == 200)

                // The submitter downloads it with the build token alone.
                let downloaded = try await Self.send(client, .GET, "\(base)/api/builds/\(id)/download", headers: [("X-Build-Token", buildToken)])
                #expect(downloaded.status == 200)
                #expect(downloaded.body == artifact)
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    @Test func aClientThatDoesNotTrustTheCertificate_isRefusedTheHandshake() async throws {
        let certificate = try SelfSigned.make()
        let other = try SelfSigned.make()
        defer {
            try? FileManager.default.removeItem(at: certificate.folder)
            try? FileManager.default.removeItem(at: other.folder)
        }
        try await F.run(.ahc(.https), gateway: {
            $0.tlsCertificateFile = certificate.certificate
            $0.tlsKeyFile = certificate.key
        }) { f in
            let client = try Self.client(trusting: other.certificate)
            let url = "https://localhost:\(try #require(f.client.port))/health"
            await #expect(throws: (any Error).self) {
                _ = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(3))
            }
            try await client.shutdown()
        }
    }

    @Test func aConnectionThatNeverFinishesItsTLSHandshake_isClosedAfterTheIdleTimeout() async throws {
        let certificate = try SelfSigned.make()
        defer { try? FileManager.default.removeItem(at: certificate.folder) }
        try await F.run(.ahc(.https), gateway: {
            $0.tlsCertificateFile = certificate.certificate
            $0.tlsKeyFile = certificate.key
            $0.idleTimeout = .seconds(1)
        }) { f in
            let connection = try await RawConnection.open(port: try #require(f.client.port))
            let start = ContinuousClock.now
            // Not a byte of a ClientHello: without a deadline of its own, the handshake would wait forever.
            _ = try await connection.dribbleUntilClosed(prefix: "", byte: "", every: .milliseconds(100), for: 150)
            let elapsed = ContinuousClock.now - start
            // Well under the 15 s the connection would otherwise stay, with room for a parallel suite on two cores.
            #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(10), "closed after \(elapsed)")
        }
    }

    @Test func anUnreadableCertificateOrKey_stopsTheStart() throws {
        var configuration = GatewayConfiguration(apiKey: F.apiKey)
        configuration.tlsCertificateFile = "/nonexistent/cert.pem"
        configuration.tlsKeyFile = "/nonexistent/key.pem"
        #expect(throws: GatewayError.self) { try Gateway.serverBuilder(for: configuration) }
        configuration.tlsCertificateFile = nil
        configuration.tlsKeyFile = nil
        #expect(throws: Never.self) { try Gateway.serverBuilder(for: configuration) }
    }

    @Test func halfATLSConfiguration_isRefusedAtStartUp() {
        var configuration = GatewayConfiguration(apiKey: F.apiKey)
        configuration.tlsCertificateFile = "/nonexistent/cert.pem"
        #expect(throws: GatewayError.self) { try configuration.validate() }
        configuration.tlsKeyFile = "/nonexistent/key.pem"
        #expect(throws: Never.self) { try configuration.validate() }
    }
}
