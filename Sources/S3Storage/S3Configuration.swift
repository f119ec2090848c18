import AWSSigV4

/// Where the bucket is and how to talk to it: the settings of `STORAGE_BACKEND=s3`.
public struct S3Configuration: Sendable {
    /// 8 MiB: S3's minimum part is 5 MiB; 8 MiB is what the AWS CLI uses.
    public static let defaultPartSize = 8 << 20
    /// A day: an upload older than this by its own key's clock is abandoned (no upload of 1 GiB takes a day).
    public static let defaultStaleUploadAge: Duration = .seconds(24 * 3600)

    /// The endpoint's scheme, `https` or `http`.
    public var scheme: String
    /// The endpoint's host name or address, without the bucket.
    public var host: String
    /// The endpoint's port, when not the scheme's default.
    public var port: Int?
    /// The bucket.
    public var bucket: String
    /// Put verbatim in front of every object key (probes included), e.g. `"ci/"`. Empty by default.
    public var prefix: String
    /// `true`: `https://endpoint/bucket/key` (MinIO, moto, Ceph); `false`: `https://bucket.endpoint/key` (AWS, R2).
    public var forcePathStyle: Bool
    /// The region requests are signed for.
    public var region: String
    /// The key requests are signed with.
    public var credentials: AWSCredentials
    /// Bytes per multipart-upload part (at least 5 MiB). Memory per upload is about one part plus one write batch.
    public var partSize: Int
    /// Bytes per ranged GET of a download (each streamed at the client's pace). 64 MiB by default: 16 requests per
    /// GiB, so their latency does not show, and a window still finishes within the hour at 20 KB/s.
    public var downloadWindowSize: Int
    /// How old, by the time written into its key, an unfinished upload must be before the sweeper aborts it.
    public var staleUploadAge: Duration
    /// The longest one request to the bucket may take before it is abandoned (and retried, when idempotent).
    public var requestTimeout: Duration
    /// Attempts per idempotent request (GET, HEAD, PUT, DELETE) on a connection failure, a 5xx or `SlowDown`.
    public var maximumAttempts: Int

    /// A configuration with the documented defaults.
    public init(
        scheme: String = "https", host: String, port: Int? = nil, bucket: String, prefix: String = "",
        forcePathStyle: Bool = false, region: String, credentials: AWSCredentials
    ) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.bucket = bucket
        self.prefix = prefix
        self.forcePathStyle = forcePathStyle
        self.region = region
        self.credentials = credentials
        self.partSize = Self.defaultPartSize
        self.downloadWindowSize = 64 << 20
        self.staleUploadAge = Self.defaultStaleUploadAge
        self.requestTimeout = .seconds(120)
        self.maximumAttempts = 4
    }

    /// The AWS endpoint of `region` (`s3.<region>.amazonaws.com`), used when no endpoint URL is set.
    public static func awsHost(region: String) -> String { "s3.\(region).amazonaws.com" }
}

extension S3Configuration {
    /// Reads an endpoint URL such as `http://127.0.0.1:9000` or `https://abc.r2.cloudflarestorage.com` into
    /// ``scheme``, ``host`` and ``port``; `nil` when it is not an `http(s)` URL with a host and nothing else.
    public static func parseEndpoint(_ url: String) -> (scheme: String, host: String, port: Int?)? {
        let lowered = url.lowercased()
        let scheme: String
        if lowered.hasPrefix("https://") {
            scheme = "https"
        } else if lowered.hasPrefix("http://") {
            scheme = "http"
        } else {
            return nil
        }
        var rest = Substring(url.dropFirst(scheme.count + 3))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?"), !rest.contains("#") else {
            return nil
        }
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            let host = String(rest[..<colon])
            guard !host.isEmpty else { return nil }
            return (scheme, host, port)
        }
        return (scheme, String(rest), nil)
    }
}
