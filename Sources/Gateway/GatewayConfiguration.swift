/// The Gateway's settings: the API key, upload limits, the timings of its own tokens, abuse limits and TLS.
public struct GatewayConfiguration: Sendable {
    public static let maxSourceBytesDefault: Int64 = 500 * 1024 * 1024
    public static let maxCertsBytesDefault: Int64 = 10 * 1024 * 1024
    public static let maxResultBytesDefault: Int64 = 1024 * 1024 * 1024
    public static let baseImageIDDefault = "ghcr.io/sethwebster/expo-free-agent-base:latest"
    public static let longPollMaxWaitDefault: Duration = .seconds(60)
    public static let longPollRecheckDefault: Duration = .seconds(5)
    public static let certsGraceDefault: Duration = .seconds(86_400)
    public static let authFailureLimitDefault = 20
    public static let authFailureWindowDefault: Duration = .seconds(60)
    public static let maxConcurrentUploadsPerCredentialDefault = 16
    public static let idleTimeoutDefault: Duration = .seconds(60)

    /// `CONTROLLER_API_KEY`: at least 32 characters of `[A-Za-z0-9_-]`.
    public var apiKey: String
    /// `BASE_IMAGE_ID`, handed to workers with each job. Defaults to ``baseImageIDDefault``.
    public var baseImageID: String = Self.baseImageIDDefault
    /// `MAX_SOURCE_BYTES`. Defaults to 500 MiB.
    public var maxSourceBytes: Int64 = Self.maxSourceBytesDefault
    /// `MAX_CERTS_BYTES`. Defaults to 10 MiB.
    public var maxCertsBytes: Int64 = Self.maxCertsBytesDefault
    /// `MAX_RESULT_BYTES`. Defaults to 1 GiB.
    public var maxResultBytes: Int64 = Self.maxResultBytesDefault
    /// The longest `?wait=` a long-poll may hold. Defaults to 60 s.
    public var longPollMaxWait: Duration = Self.longPollMaxWaitDefault
    /// A long-poll re-checks the queue this often even without a notification. Defaults to 5 s.
    public var longPollRecheck: Duration = Self.longPollRecheckDefault
    /// `DOWNLOAD_REDIRECT=presigned`: how long the presigned URL of a download's 302 lives; `nil` (the default)
    /// streams every download through the controller. Only a backend that can presign (S3) redirects.
    public var downloadRedirect: Duration?
    /// `CERTS_GRACE_SECONDS`: how long failed or cancelled builds' certs stay sealed for a retry. Defaults to 24 h.
    public var certsGrace: Duration = Self.certsGraceDefault
    /// `RETENTION_DAYS`: sources and results of builds finished longer ago are deleted. `nil` (the default) keeps
    /// them for good.
    public var retention: Duration?
    /// `AUTH_FAILURE_LIMIT`: a client (by IP address) that fails authentication (401/403) this many times within
    /// ``authFailureWindow`` is answered 429 for one window. 0 turns the limit off. Defaults to 20.
    public var authFailureLimit: Int = Self.authFailureLimitDefault
    /// `AUTH_FAILURE_WINDOW_SECONDS`: the window of ``authFailureLimit`` and how long a client is refused. Defaults
    /// to 60 s.
    public var authFailureWindow: Duration = Self.authFailureWindowDefault
    /// `TRUSTED_PROXIES`: peer IP addresses whose `X-Forwarded-For` names the client. Defaults to none.
    public var trustedProxies: Set<String> = []
    /// `MAX_CONCURRENT_UPLOADS_PER_CREDENTIAL`: uploads (submit, result, artifact) one credential may have in flight;
    /// one more is answered 429. Every holder of the API key shares one credential. Defaults to 16.
    public var maxConcurrentUploadsPerCredential: Int = Self.maxConcurrentUploadsPerCredentialDefault
    /// `IDLE_TIMEOUT_SECONDS`: a connection that delivers no complete request head, no body bytes, or no new
    /// request for this long is closed (slowloris: headers dribbled byte by byte never complete a head). A request
    /// being answered (a long-poll, a download) is never cut. Defaults to 60 s.
    public var idleTimeout: Duration = Self.idleTimeoutDefault
    /// `TLS_CERT_FILE`: a PEM certificate chain; with ``tlsKeyFile`` the controller serves HTTPS itself.
    public var tlsCertificateFile: String?
    /// `TLS_KEY_FILE`: the PEM private key of ``tlsCertificateFile``.
    public var tlsKeyFile: String?
    /// The operator dashboard at `/`: session lifetime, cookie flags, live-update timings.
    public var dashboard = DashboardConfiguration()

    public init(apiKey: String) { self.apiKey = apiKey }

    /// Checks the API key's shape once, at start-up.
    public func validate() throws(GatewayError) {
        guard apiKey.utf8.count >= 32,
            apiKey.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            })
        else {
            throw GatewayError(.badRequest, "CONTROLLER_API_KEY must be at least 32 characters of [A-Za-z0-9_-]")
        }
        guard maxSourceBytes > 0, maxCertsBytes > 0, maxResultBytes > 0 else {
            throw GatewayError(.badRequest, "MAX_SOURCE_BYTES, MAX_CERTS_BYTES and MAX_RESULT_BYTES must be positive")
        }
        guard authFailureLimit >= 0 else { throw GatewayError(.badRequest, "AUTH_FAILURE_LIMIT must be 0 (off) or more") }
        guard authFailureWindow > .zero, idleTimeout > .zero else {
            throw GatewayError(.badRequest, "AUTH_FAILURE_WINDOW_SECONDS and IDLE_TIMEOUT_SECONDS must be positive")
        }
        guard maxConcurrentUploadsPerCredential > 0 else {
            throw GatewayError(.badRequest, "MAX_CONCURRENT_UPLOADS_PER_CREDENTIAL must be positive")
        }
        guard (tlsCertificateFile == nil) == (tlsKeyFile == nil) else {
            throw GatewayError(.badRequest, "TLS_CERT_FILE and TLS_KEY_FILE must be set together")
        }
    }
}
