import AWSSigV4
import ArtifactStore
import AsyncHTTPClient
import Foundation
import Logging
import S3Storage

/// The backends the store's tests run against: the local filesystem, and the S3 driver against the moto server
/// that scripts/test.sh starts (its address and key in `FAC_TEST_S3_*`, see scripts/lib/moto.sh).
public enum TestBackend: String, CaseIterable, Sendable {
    case filesystem
    case s3
}

/// The moto server's settings, from the environment scripts/test.sh exports.
public enum MotoEnvironment {
    /// A configuration for a prefix of the test's own (`t-<uuid>-`: no slash, see S3ObjectKeys.listingPrefix).
    public static func configuration(secretOverride: String? = nil) throws -> S3Configuration {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["FAC_TEST_S3_ENDPOINT"], let bucket = environment["FAC_TEST_S3_BUCKET"],
            let keyID = environment["FAC_TEST_S3_ACCESS_KEY_ID"], let secret = environment["FAC_TEST_S3_SECRET_ACCESS_KEY"],
            let parsed = S3Configuration.parseEndpoint(endpoint)
        else {
            throw MotoMissing()
        }
        var configuration = S3Configuration(
            scheme: parsed.scheme, host: parsed.host, port: parsed.port, bucket: bucket,
            prefix: "t-\(UUID().uuidString.lowercased())-", forcePathStyle: true,
            region: environment["FAC_TEST_S3_REGION"] ?? "us-east-1",
            credentials: AWSCredentials(accessKeyID: keyID, secretAccessKey: secretOverride ?? secret))
        // The smallest part S3 allows, so that a few MiB exercise the multipart path.
        configuration.partSize = 5 << 20
        // Small download windows, so that reads of a few MiB cross from one ranged GET to the next.
        configuration.downloadWindowSize = 1 << 20
        configuration.requestTimeout = .seconds(30)
        return configuration
    }

    /// One HTTP client for every S3 test of the process (moto is local; a client per test would cost threads).
    public static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public static func client(_ configuration: S3Configuration) -> S3Client {
        var logger = Logger(label: "s3-test")
        logger.logLevel = .warning
        return S3Client(configuration: configuration, http: http, logger: logger)
    }
}

public struct MotoMissing: Error, CustomStringConvertible {
    public var description: String {
        "FAC_TEST_S3_* is not set: run the tests through scripts/test.sh, which starts moto's S3 server"
    }
}

extension S3Client {
    /// Every object and unfinished multipart upload (as `upload:<key>`) under `prefix`.
    public func inventory(prefix: String) async throws -> [String] {
        try await listObjects(prefix: prefix).map(\.key) + listMultipartUploads(prefix: prefix).map { "upload:" + $0.key }
    }

    /// What a failed or abandoned write could leave under `prefix`: everything but committed blobs.
    public func leftovers(prefix: String) async throws -> [String] {
        try await inventory(prefix: prefix).filter { !$0.hasPrefix(prefix + "blobs/") }
    }

    /// Aborts every upload and deletes every object under `prefix` (a test's cleanup; failures ignored).
    public func removeEverything(prefix: String) async {
        for upload in (try? await listMultipartUploads(prefix: prefix)) ?? [] {
            try? await abortMultipartUpload(upload.key, uploadID: upload.uploadID)
        }
        for object in (try? await listObjects(prefix: prefix)) ?? [] {
            try? await deleteObject(object.key)
        }
    }
}
