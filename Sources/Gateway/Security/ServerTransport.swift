public import HummingbirdCore
import HummingbirdHTTP2
import NIOCore
import NIOSSL

extension Gateway {
    /// The HTTP server the controller runs: plain HTTP/1.1, or HTTPS (HTTP/1.1 and HTTP/2 by ALPN) when
    /// ``GatewayConfiguration/tlsCertificateFile`` and ``GatewayConfiguration/tlsKeyFile`` are set. Either way,
    /// connections time out after ``GatewayConfiguration/idleTimeout`` without progress.
    ///
    /// Reads the PEM files once (at start-up, before any request), so a bad file stops the start, not a request.
    public func serverBuilder() throws -> HTTPServerBuilder {
        try Self.serverBuilder(for: configuration)
    }

    /// ``serverBuilder()`` for `configuration`, without a gateway (start-up checks and tests).
    public static func serverBuilder(for configuration: GatewayConfiguration) throws -> HTTPServerBuilder {
        let http1 = HTTP1Channel.Configuration(idleTimeout: TimeAmount(configuration.idleTimeout))
        guard let certificateFile = configuration.tlsCertificateFile, let keyFile = configuration.tlsKeyFile else {
            return .http1(configuration: http1)
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw GatewayError(.badRequest, "TLS_CERT_FILE could not be read as a PEM certificate chain")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw GatewayError(.badRequest, "TLS_KEY_FILE could not be read as a PEM private key")
        }
        guard !chain.isEmpty else { throw GatewayError(.badRequest, "TLS_CERT_FILE holds no certificate") }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        let server = tls
        let deadline = TimeAmount(configuration.idleTimeout)
        // HTTP/2 connections are idle when no stream is open; each stream has the HTTP/1 timeouts. Until the
        // handshake is done neither applies: the handshake gets the same time of its own.
        let http2 = HTTP2UpgradeChannel.Configuration(idleTimeout: configuration.idleTimeout, streamConfiguration: http1)
        return HTTPServerBuilder { responder in
            TLSHandshakeDeadline(
                base: try HTTP2UpgradeChannel(tlsConfiguration: server, configuration: http2, responder: responder),
                deadline: deadline)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
