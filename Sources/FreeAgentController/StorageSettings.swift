import AWSSigV4
import ArtifactStore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import S3Storage

/// Where blobs live: `STORAGE_BACKEND=filesystem` (default, below `STORAGE_ROOT`) or `s3` (a bucket).
enum StorageSettings {
    case filesystem(root: String)
    case s3(S3Configuration)

    /// Reads the storage settings. For `s3`, credentials, region and endpoint are read as AWS tools read them
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` or `AWS_DEFAULT_REGION`,
    /// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`); credentials come from the environment only, never from flags,
    /// so they do not show in the process list.
    init(_ options: SettingsOptions, environment: [String: String], storageRoot: String) throws {
        let text = { (flag: String?, name: String) in Settings.text(flag, name, in: environment) }
        switch text(options.storageBackend, "STORAGE_BACKEND")?.lowercased() ?? "filesystem" {
        case "filesystem":
            self = .filesystem(root: storageRoot)
        case "s3":
            self = .s3(try Self.s3(options, environment: environment, text: text))
        default:
            throw SettingsError(description: "STORAGE_BACKEND must be filesystem or s3")
        }
    }

    private static func s3(
        _ options: SettingsOptions, environment: [String: String], text: (String?, String) -> String?
    ) throws -> S3Configuration {
        guard let bucket = text(options.s3Bucket, "S3_BUCKET") else {
            throw SettingsError(description: "S3_BUCKET is required when STORAGE_BACKEND=s3")
        }
        guard let accessKey = text(nil, "AWS_ACCESS_KEY_ID"), let secret = text(nil, "AWS_SECRET_ACCESS_KEY") else {
            throw SettingsError(description: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required when STORAGE_BACKEND=s3")
        }
        guard let region = text(options.awsRegion, "AWS_REGION") ?? text(nil, "AWS_DEFAULT_REGION")
        else {
            throw SettingsError(description: "AWS_REGION is required when STORAGE_BACKEND=s3 (us-east-1, auto for R2, …)")
        }
        var configuration: S3Configuration
        let credentials = AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret,
            sessionToken: text(nil, "AWS_SESSION_TOKEN"))
        let forcePathStyle =
            try Settings.flag(options.s3ForcePathStyle, environment["S3_FORCE_PATH_STYLE"], "S3_FORCE_PATH_STYLE") ?? false
        if let endpoint = text(options.awsEndpointURL, "AWS_ENDPOINT_URL_S3") ?? text(nil, "AWS_ENDPOINT_URL") {
            guard let parsed = S3Configuration.parseEndpoint(endpoint) else {
                throw SettingsError(description: "AWS_ENDPOINT_URL_S3 must be http(s)://host[:port] without a path")
            }
            configuration = S3Configuration(
                scheme: parsed.scheme, host: parsed.host, port: parsed.port, bucket: bucket, forcePathStyle: forcePathStyle,
                region: region, credentials: credentials)
        } else {
            configuration = S3Configuration(
                host: S3Configuration.awsHost(region: region), bucket: bucket, forcePathStyle: forcePathStyle, region: region,
                credentials: credentials)
        }
        configuration.prefix = text(options.s3Prefix, "S3_PREFIX") ?? ""
        if let text = text(options.s3PartSizeMiB.map(String.init), "S3_PART_SIZE_MIB") {
            guard let mebibytes = Int(text), (5...512).contains(mebibytes) else {
                throw SettingsError(description: "S3_PART_SIZE_MIB must be 5-512")
            }
            configuration.partSize = mebibytes << 20
        }
        if let text = text(options.s3StaleUploadSeconds.map(String.init), "S3_STALE_UPLOAD_SECONDS") {
            guard let seconds = Int(text), seconds >= 0 else {
                throw SettingsError(description: "S3_STALE_UPLOAD_SECONDS must be 0 or more")
            }
            configuration.staleUploadAge = .seconds(seconds)
        }
        return configuration
    }

    /// The name `/health` and the logs use.
    var backendName: String {
        switch self {
        case .filesystem: return "filesystem"
        case .s3: return "s3"
        }
    }
}

/// An open store, and the HTTP client of its bucket when it has one (shut down by ``close()``).
struct OpenedStore {
    let store: ArtifactStore
    let http: HTTPClient?

    /// Opens the store `settings` describe and proves it is writable; throws a ``SettingsError`` that says what to
    /// fix when it is not (the bucket unreachable, the key refused, the folder read-only).
    static func open(_ settings: StorageSettings, logger: Logger) async throws -> OpenedStore {
        switch settings {
        case .filesystem(let root):
            try FileManager.default.createDirectory(
                atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return OpenedStore(store: try ArtifactStore(configuration: .init(root: root)), http: nil)
        case .s3(let configuration):
            var httpConfiguration = HTTPClient.Configuration()
            httpConfiguration.timeout = .init(connect: .seconds(10), read: .seconds(60))
            // Redirects would carry our signed requests to another host.
            httpConfiguration.redirectConfiguration = .disallow
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
            let backend = S3Backend(client: S3Client(configuration: configuration, http: http, logger: logger), logger: logger)
            let store = ArtifactStore(configuration: .init(root: ""), backend: backend)
            do {
                try await store.checkWritable()
            } catch let error as ArtifactStoreError {
                try? await http.shutdown()
                logger.error("the bucket is not usable", metadata: ["error": "\(String(reflecting: error))"])
                let reason = (error.underlying as? S3Error).map { "\($0)" } ?? "\(error.code)"
                throw SettingsError(
                    description:
                        "S3 bucket \(configuration.bucket) at \(configuration.host) is not reachable and writable "
                        + "(\(reason)); check S3_BUCKET, AWS_ENDPOINT_URL_S3, AWS_REGION and the key's permissions")
            }
            return OpenedStore(store: store, http: http)
        }
    }

    /// Shuts the bucket's HTTP client down, if there is one.
    func close() async {
        try? await http?.shutdown()
    }
}
