/// The Gateway's settings: the API key, upload limits and the timings of its own tokens.
public struct GatewayConfiguration: Sendable {
    public static let maxSourceBytesDefault: Int64 = 500 * 1024 * 1024
    public static let maxCertsBytesDefault: Int64 = 10 * 1024 * 1024
    public static let maxResultBytesDefault: Int64 = 1024 * 1024 * 1024
    public static let baseImageIDDefault = "ghcr.io/sethwebster/expo-free-agent-base:latest"
    public static let longPollMaxWaitDefault: Duration = .seconds(60)
    public static let longPollRecheckDefault: Duration = .seconds(5)
    public static let certsGraceDefault: Duration = .seconds(86_400)

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
    /// `CERTS_GRACE_SECONDS`: how long failed or cancelled builds' certs stay sealed for a retry. Defaults to 24 h.
    public var certsGrace: Duration = Self.certsGraceDefault
    /// `RETENTION_DAYS`: sources and results of builds finished longer ago are deleted. `nil` (the default) keeps
    /// them for good.
    public var retention: Duration?

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
    }
}
