import ArgumentParser
import Foundation
import Gateway
import Orchestrator

/// Every setting of `serve`, as a flag and as an environment variable of the same name (the flag wins).
struct SettingsOptions: ParsableArguments {
    @Option(help: "PORT: the port to listen on (default 3000).") var port: Int?
    @Option(help: "HOST: the address to bind (default 0.0.0.0).") var host: String?
    @Option(name: .customLong("database-url"), help: "DATABASE_URL: postgres://user:password@host:port/database.")
    var databaseURL: String?
    @Option(name: .customLong("controller-api-key"), help: "CONTROLLER_API_KEY: at least 32 characters of [A-Za-z0-9_-].")
    var apiKey: String?
    @Option(name: .customLong("storage-root"), help: "STORAGE_ROOT: the folder of sources, sealed certs and results (default ./storage).")
    var storageRoot: String?
    @Option(name: .customLong("vault-master-key"), help: "VAULT_MASTER_KEY: base64 of 32 bytes, or a versioned list 1:<b64>,2:<b64>.")
    var vaultMasterKey: String?
    @Option(name: .customLong("vault-master-key-file"), help: "VAULT_MASTER_KEY_FILE: a file of lines <version>:<base64>.")
    var vaultMasterKeyFile: String?
    @Option(name: .customLong("base-image-id"), help: "BASE_IMAGE_ID: the VM image workers are told to use.") var baseImageID: String?
    @Option(name: .customLong("max-source-bytes"), help: "MAX_SOURCE_BYTES (default 500 MiB).") var maxSourceBytes: Int64?
    @Option(name: .customLong("max-certs-bytes"), help: "MAX_CERTS_BYTES (default 10 MiB).") var maxCertsBytes: Int64?
    @Option(name: .customLong("max-result-bytes"), help: "MAX_RESULT_BYTES (default 1 GiB).") var maxResultBytes: Int64?
    @Option(name: .customLong("worker-token-ttl-seconds"), help: "WORKER_TOKEN_TTL_SECONDS (default 900).") var workerTokenTTL: Int?
    @Option(name: .customLong("build-heartbeat-timeout-seconds"), help: "BUILD_HEARTBEAT_TIMEOUT_SECONDS (default 180).")
    var buildHeartbeatTimeout: Int?
    @Option(name: .customLong("worker-offline-after-seconds"), help: "WORKER_OFFLINE_AFTER_SECONDS (default 120).")
    var workerOfflineAfter: Int?
    @Option(name: .customLong("max-build-duration-seconds"), help: "MAX_BUILD_DURATION_SECONDS (default 7200).")
    var maxBuildDuration: Int?
    @Option(name: .customLong("max-attempts"), help: "MAX_ATTEMPTS, the first attempt included (default 3).") var maxAttempts: Int?
    @Option(name: .customLong("sweep-interval-seconds"), help: "SWEEP_INTERVAL_SECONDS (default 15).") var sweepInterval: Int?
    @Option(name: .customLong("otp-ttl-seconds"), help: "OTP_TTL_SECONDS (default 1800).") var otpTTL: Int?
    @Option(name: .customLong("assignment-lease-seconds"), help: "ASSIGNMENT_LEASE_SECONDS (default 1800).") var assignmentLease: Int?
    @Option(name: .customLong("platform-matching"), help: "PLATFORM_MATCHING: any (default) or strict.") var platformMatching: String?
    @Option(name: .customLong("certs-grace-seconds"), help: "CERTS_GRACE_SECONDS (default 86400).") var certsGrace: Int?
    @Option(name: .customLong("retention-days"), help: "RETENTION_DAYS: delete sources and results of builds finished longer ago (default: keep).")
    var retentionDays: Int?
    @Option(name: .customLong("metrics-port"), help: "METRICS_PORT: also serve /metrics, without credentials, on this port (default: only on PORT, with the API key).")
    var metricsPort: Int?
    @Option(name: .customLong("metrics-host"), help: "METRICS_HOST: the address METRICS_PORT binds (default: HOST).")
    var metricsHost: String?
    @Option(name: .customLong("dashboard-session-seconds"), help: "DASHBOARD_SESSION_SECONDS: how long a dashboard sign-in lasts (default 43200).")
    var dashboardSession: Int?
    @Option(name: .customLong("dashboard-secure-cookies"), help: "DASHBOARD_SECURE_COOKIES: true when served over TLS (default false).")
    var dashboardSecureCookies: Bool?
    @Option(name: .customLong("long-poll-max-seconds"), help: "LONG_POLL_MAX_SECONDS: the longest ?wait= honoured (default 60).")
    var longPollMax: Int?
    @Option(name: .customLong("auth-failure-limit"), help: "AUTH_FAILURE_LIMIT: failed authentications per client before 429 (default 20, 0 = off).")
    var authFailureLimit: Int?
    @Option(name: .customLong("auth-failure-window-seconds"), help: "AUTH_FAILURE_WINDOW_SECONDS: window and lock-out of AUTH_FAILURE_LIMIT (default 60).")
    var authFailureWindow: Int?
    @Option(name: .customLong("trusted-proxies"), help: "TRUSTED_PROXIES: comma-separated proxy IPs whose X-Forwarded-For names the client.")
    var trustedProxies: String?
    @Option(name: .customLong("max-concurrent-uploads-per-credential"), help: "MAX_CONCURRENT_UPLOADS_PER_CREDENTIAL (default 16).")
    var maxConcurrentUploads: Int?
    @Option(name: .customLong("idle-timeout-seconds"), help: "IDLE_TIMEOUT_SECONDS: close connections without progress (default 60).")
    var idleTimeout: Int?
    @Option(name: .customLong("tls-cert-file"), help: "TLS_CERT_FILE: PEM certificate chain; with TLS_KEY_FILE, serve HTTPS.")
    var tlsCertFile: String?
    @Option(name: .customLong("tls-key-file"), help: "TLS_KEY_FILE: PEM private key of TLS_CERT_FILE.") var tlsKeyFile: String?
    @Option(name: .customLong("storage-backend"), help: "STORAGE_BACKEND: filesystem (default, below STORAGE_ROOT) or s3.")
    var storageBackend: String?
    @Option(name: .customLong("s3-bucket"), help: "S3_BUCKET: the bucket (STORAGE_BACKEND=s3).") var s3Bucket: String?
    @Option(name: .customLong("s3-prefix"), help: "S3_PREFIX: put verbatim in front of every object key (default none).")
    var s3Prefix: String?
    @Option(name: .customLong("s3-force-path-style"), help: "S3_FORCE_PATH_STYLE: true for endpoint/bucket/key addressing (MinIO, Ceph).")
    var s3ForcePathStyle: Bool?
    @Option(name: .customLong("s3-part-size-mib"), help: "S3_PART_SIZE_MIB: multipart upload part size, 5-512 (default 8).")
    var s3PartSizeMiB: Int?
    @Option(name: .customLong("s3-stale-upload-seconds"), help: "S3_STALE_UPLOAD_SECONDS: age after which the sweeper aborts an unfinished upload (default 86400).")
    var s3StaleUploadSeconds: Int?
    @Option(name: .customLong("aws-region"), help: "AWS_REGION (or AWS_DEFAULT_REGION): the bucket's region (STORAGE_BACKEND=s3).")
    var awsRegion: String?
    @Option(name: .customLong("aws-endpoint-url-s3"), help: "AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL): http(s)://host[:port] of a non-AWS S3 service.")
    var awsEndpointURL: String?
    @Option(name: .customLong("download-redirect"), help: "DOWNLOAD_REDIRECT: none (default) or presigned (s3 only: downloads answer 302 to the bucket).")
    var downloadRedirect: String?
    @Option(name: .customLong("download-redirect-ttl-seconds"), help: "DOWNLOAD_REDIRECT_TTL_SECONDS: how long a presigned URL lives (default 300).")
    var downloadRedirectTTL: Int?
}

/// A setting that cannot be used; the message names the setting and never repeats a secret.
struct SettingsError: Error, CustomStringConvertible {
    let description: String
}

/// The resolved settings of one process.
struct Settings {
    var port = 3000
    var host = "0.0.0.0"
    var databaseURL: String
    var storageRoot = "./storage"
    /// `STORAGE_BACKEND` and its settings.
    var storage: StorageSettings = .filesystem(root: "./storage")
    var vaultMasterKey: String?
    var vaultMasterKeyFile: String?
    var gateway: GatewayConfiguration
    var orchestrator = OrchestratorConfiguration()
    var metricsPort: Int?
    /// `METRICS_HOST`; `nil` binds METRICS_PORT on ``host``.
    var metricsHost: String?

    init(_ options: SettingsOptions, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func text(_ flag: String?, _ name: String) -> String? { Self.text(flag, name, in: environment) }
        func integer<T: FixedWidthInteger>(_ flag: T?, _ name: String) throws -> T? {
            if let flag { return flag }
            guard let value = environment[name], !value.isEmpty else { return nil }
            guard let parsed = T(value) else { throw SettingsError(description: "\(name) must be a whole number") }
            return parsed
        }
        func seconds(_ flag: Int?, _ name: String) throws -> Duration? {
            guard let value = try integer(flag, name) else { return nil }
            guard value > 0 else { throw SettingsError(description: "\(name) must be positive") }
            return .seconds(value)
        }

        guard let databaseURL = text(options.databaseURL, "DATABASE_URL") else {
            throw SettingsError(description: "DATABASE_URL is required (postgres://user:password@host:port/database)")
        }
        guard let apiKey = text(options.apiKey, "CONTROLLER_API_KEY") else {
            throw SettingsError(description: "CONTROLLER_API_KEY is required: at least 32 characters of [A-Za-z0-9_-]")
        }
        self.databaseURL = databaseURL
        self.gateway = GatewayConfiguration(apiKey: apiKey)
        if let port = try integer(options.port, "PORT") {
            guard (1...65_535).contains(port) else { throw SettingsError(description: "PORT must be 1-65535") }
            self.port = port
        }
        host = text(options.host, "HOST") ?? host
        if let metricsPort = try integer(options.metricsPort, "METRICS_PORT") {
            guard (1...65_535).contains(metricsPort), metricsPort != port else {
                throw SettingsError(description: "METRICS_PORT must be 1-65535 and differ from PORT")
            }
            self.metricsPort = metricsPort
        }
        metricsHost = text(options.metricsHost, "METRICS_HOST")
        _ = try ControllerLogFormat.parse(environment["LOG_FORMAT"])
        gateway.dashboard.sessionLifetime =
            try seconds(options.dashboardSession, "DASHBOARD_SESSION_SECONDS") ?? gateway.dashboard.sessionLifetime
        gateway.dashboard.secureCookies =
            try Self.flag(options.dashboardSecureCookies, environment["DASHBOARD_SECURE_COOKIES"], "DASHBOARD_SECURE_COOKIES")
            ?? gateway.dashboard.secureCookies
        storageRoot = text(options.storageRoot, "STORAGE_ROOT") ?? storageRoot
        storage = try StorageSettings(options, environment: environment, storageRoot: storageRoot)
        switch text(options.downloadRedirect, "DOWNLOAD_REDIRECT")?.lowercased() ?? "none" {
        case "none":
            gateway.downloadRedirect = nil
        case "presigned":
            guard case .s3 = storage else {
                throw SettingsError(description: "DOWNLOAD_REDIRECT=presigned needs STORAGE_BACKEND=s3")
            }
            let ttl = try seconds(options.downloadRedirectTTL, "DOWNLOAD_REDIRECT_TTL_SECONDS") ?? .seconds(300)
            guard ttl <= .seconds(604_800) else {
                throw SettingsError(description: "DOWNLOAD_REDIRECT_TTL_SECONDS must be at most 604800 (7 days)")
            }
            gateway.downloadRedirect = ttl
        default:
            throw SettingsError(description: "DOWNLOAD_REDIRECT must be none or presigned")
        }
        vaultMasterKey = text(options.vaultMasterKey, "VAULT_MASTER_KEY")
        vaultMasterKeyFile = text(options.vaultMasterKeyFile, "VAULT_MASTER_KEY_FILE")
        gateway.baseImageID = text(options.baseImageID, "BASE_IMAGE_ID") ?? gateway.baseImageID
        gateway.maxSourceBytes = try integer(options.maxSourceBytes, "MAX_SOURCE_BYTES") ?? gateway.maxSourceBytes
        gateway.maxCertsBytes = try integer(options.maxCertsBytes, "MAX_CERTS_BYTES") ?? gateway.maxCertsBytes
        gateway.maxResultBytes = try integer(options.maxResultBytes, "MAX_RESULT_BYTES") ?? gateway.maxResultBytes
        gateway.certsGrace = try seconds(options.certsGrace, "CERTS_GRACE_SECONDS") ?? gateway.certsGrace
        gateway.longPollMaxWait = try seconds(options.longPollMax, "LONG_POLL_MAX_SECONDS") ?? gateway.longPollMaxWait
        if let days = try integer(options.retentionDays, "RETENTION_DAYS") {
            guard days > 0 else { throw SettingsError(description: "RETENTION_DAYS must be positive") }
            gateway.retention = .seconds(days * 86_400)
        }
        if let limit = try integer(options.authFailureLimit, "AUTH_FAILURE_LIMIT") {
            guard limit >= 0 else { throw SettingsError(description: "AUTH_FAILURE_LIMIT must be 0 (off) or more") }
            gateway.authFailureLimit = limit
        }
        gateway.authFailureWindow = try seconds(options.authFailureWindow, "AUTH_FAILURE_WINDOW_SECONDS") ?? gateway.authFailureWindow
        if let proxies = text(options.trustedProxies, "TRUSTED_PROXIES") {
            gateway.trustedProxies = Set(proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        gateway.maxConcurrentUploadsPerCredential =
            try integer(options.maxConcurrentUploads, "MAX_CONCURRENT_UPLOADS_PER_CREDENTIAL") ?? gateway.maxConcurrentUploadsPerCredential
        gateway.idleTimeout = try seconds(options.idleTimeout, "IDLE_TIMEOUT_SECONDS") ?? gateway.idleTimeout
        gateway.tlsCertificateFile = text(options.tlsCertFile, "TLS_CERT_FILE")
        gateway.tlsKeyFile = text(options.tlsKeyFile, "TLS_KEY_FILE")
        orchestrator.workerTokenTTL = try seconds(options.workerTokenTTL, "WORKER_TOKEN_TTL_SECONDS") ?? orchestrator.workerTokenTTL
        orchestrator.buildHeartbeatTimeout =
            try seconds(options.buildHeartbeatTimeout, "BUILD_HEARTBEAT_TIMEOUT_SECONDS") ?? orchestrator.buildHeartbeatTimeout
        orchestrator.workerOfflineAfter =
            try seconds(options.workerOfflineAfter, "WORKER_OFFLINE_AFTER_SECONDS") ?? orchestrator.workerOfflineAfter
        orchestrator.maxBuildDuration = try seconds(options.maxBuildDuration, "MAX_BUILD_DURATION_SECONDS") ?? orchestrator.maxBuildDuration
        orchestrator.maxAttempts = try integer(options.maxAttempts, "MAX_ATTEMPTS") ?? orchestrator.maxAttempts
        orchestrator.sweepInterval = try seconds(options.sweepInterval, "SWEEP_INTERVAL_SECONDS") ?? orchestrator.sweepInterval
        orchestrator.otpTTL = try seconds(options.otpTTL, "OTP_TTL_SECONDS") ?? orchestrator.otpTTL
        orchestrator.assignmentLease = try seconds(options.assignmentLease, "ASSIGNMENT_LEASE_SECONDS") ?? orchestrator.assignmentLease
        if let matching = text(options.platformMatching, "PLATFORM_MATCHING") {
            guard let parsed = OrchestratorConfiguration.PlatformMatching(rawValue: matching) else {
                throw SettingsError(description: "PLATFORM_MATCHING must be any or strict")
            }
            orchestrator.platformMatching = parsed
        }
        // A held long-poll marks its worker seen when it starts, not while it waits: a wait as long as the offline
        // threshold would show a waiting worker offline.
        guard gateway.longPollMaxWait < orchestrator.workerOfflineAfter else {
            throw SettingsError(description: "LONG_POLL_MAX_SECONDS must be shorter than WORKER_OFFLINE_AFTER_SECONDS")
        }
        do {
            try gateway.validate()
            try orchestrator.validate()
        } catch let error as GatewayError {
            throw SettingsError(description: error.message)
        } catch let error as OrchestratorError {
            throw SettingsError(description: error.detail ?? "invalid setting")
        }
    }

    /// A setting's text: the flag when given, else the environment variable `name`; empty counts as unset.
    static func text(_ flag: String?, _ name: String, in environment: [String: String]) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let value = environment[name], !value.isEmpty { return value }
        return nil
    }

    /// `true`/`false` (also 1/0, yes/no) from a flag or the environment variable's `value`; `nil` when unset.
    static func flag(_ flag: Bool?, _ value: String?, _ name: String) throws -> Bool? {
        if let flag { return flag }
        guard let value = value?.lowercased(), !value.isEmpty else { return nil }
        switch value {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw SettingsError(description: "\(name) must be true or false")
        }
    }
}
