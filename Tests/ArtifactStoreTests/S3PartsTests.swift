import AWSSigV4
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
@testable import S3Storage
import TestSupport
import Testing

/// The S3 driver's pure parts: what gets retried, how answers are read, endpoints, and the sweeper's key clock.
@Suite("S3 driver parts")
struct S3PartsTests {
    @Test(arguments: [
        (S3Error(code: .unreachable, operation: "GetObject"), true),
        (S3Error(code: .rejected, operation: "PutObject", status: 503, s3Code: "SlowDown"), true),
        (S3Error(code: .rejected, operation: "PutObject", status: 500, s3Code: "InternalError"), true),
        (S3Error(code: .rejected, operation: "PutObject", status: 400, s3Code: "RequestTimeout"), true),
        (S3Error(code: .rejected, operation: "PutObject", status: 403, s3Code: "SignatureDoesNotMatch"), false),
        (S3Error(code: .rejected, operation: "GetObject", status: 404, s3Code: "NoSuchKey"), false),
        (S3Error(code: .rejected, operation: "GetObject", status: 412, s3Code: "PreconditionFailed"), false),
        (S3Error(code: .invalidResponse, operation: "CreateMultipartUpload"), false),
    ])
    func onlyTransientFailuresAreRetried(error: S3Error, retried: Bool) {
        #expect(error.isTransient == retried)
    }

    @Test func errorDescription_keepsS3sMessageForLogsOnly() {
        let error = S3Error(
            code: .rejected, operation: "PutObject", status: 403, s3Code: "SignatureDoesNotMatch",
            message: "The canonical request was PUT /bucket/key ...")
        #expect("\(error)" == "S3Error.rejected (PutObject, HTTP 403, SignatureDoesNotMatch)")
        #expect(String(reflecting: error).contains("canonical request"))
    }

    @Test func listingsAreRead_withEntitiesDecoded_andBrokenEntriesSkipped() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>a&amp;b</NextContinuationToken>
            <Contents><Key>p-blobs/source/x&lt;1&gt;</Key><Size>12</Size></Contents>
            <Contents><Key>no-size</Key></Contents>
            <Contents><Key>p-blobs/result/&#x41;&#66;</Key><Size>3</Size></Contents>
            <Contents><Key>unterminated
            """
        let entries = S3XML.elements(named: "Contents", in: Substring(xml))
        #expect(entries.count == 3)
        #expect(S3XML.value(of: "Key", in: entries[0]) == "p-blobs/source/x<1>")
        #expect(S3XML.value(of: "Size", in: entries[1]) == nil)
        #expect(S3XML.value(of: "Key", in: entries[2]) == "p-blobs/result/AB")
        #expect(S3XML.value(of: "NextContinuationToken", in: Substring(xml)) == "a&b")
        #expect(S3XML.decodeEntities("&unknown; & &#xFFFFFFFF; &amp") == "&unknown; & &#xFFFFFFFF; &amp")
        #expect(S3XML.escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;")
    }

    @Test func errorDocumentsInA200AreFailures() {
        let body = ByteBuffer(string: "<Error><Code>InternalError</Code><Message>copy failed</Message></Error>")
        let error = #expect(throws: S3Error.self) { try S3Client.throwIfErrorDocument(body, operation: "CopyObject") }
        #expect(error?.s3Code == "InternalError")
        #expect(error?.status == 200)
        #expect(throws: Never.self) {
            try S3Client.throwIfErrorDocument(ByteBuffer(string: "<CopyObjectResult/>"), operation: "CopyObject")
        }
    }

    @Test(arguments: [
        ("http://127.0.0.1:9000", "http", "127.0.0.1", 9000 as Int?),
        ("https://abc.r2.cloudflarestorage.com/", "https", "abc.r2.cloudflarestorage.com", nil),
        ("HTTPS://s3.eu-west-1.amazonaws.com", "https", "s3.eu-west-1.amazonaws.com", nil),
    ])
    func endpointsAreRead(url: String, scheme: String, host: String, port: Int?) throws {
        let parsed = try #require(S3Configuration.parseEndpoint(url))
        #expect(parsed.scheme == scheme && parsed.host == host && parsed.port == port)
    }

    @Test(arguments: ["ftp://host", "http://", "http://host/path", "http://user@host", "http://host:0", "http://host:99999",
                      "host:9000", "http://host?x", "http://:80"])
    func badEndpointsAreRefused(url: String) {
        #expect(S3Configuration.parseEndpoint(url) == nil)
    }

    @Test func addressingStyles_putTheBucketWhereTheServiceExpectsIt() {
        var configuration = S3Configuration(
            host: "s3.eu-west-1.amazonaws.com", bucket: "fac", prefix: "ci/", region: "eu-west-1",
            credentials: .init(accessKeyID: "AKID", secretAccessKey: "secret"))
        let http = MotoLessClient.make(configuration)
        #expect(http.location(of: "ci/blobs/source/a b") == ("fac.s3.eu-west-1.amazonaws.com", "/ci/blobs/source/a%20b"))
        configuration.forcePathStyle = true
        configuration.host = "127.0.0.1"
        configuration.port = 9000
        let pathStyle = MotoLessClient.make(configuration)
        #expect(pathStyle.location(of: "k") == ("127.0.0.1:9000", "/fac/k"))
        #expect(pathStyle.location(of: nil) == ("127.0.0.1:9000", "/fac"))
    }

    @Test func sweeperClock_readsTheSecondWrittenIntoStagingAndProbeKeys() {
        let keys = S3ObjectKeys(prefix: "p-")
        let started = Date(timeIntervalSince1970: 1_800_000_000)
        let staging = keys.newStaging(now: started)
        #expect(staging.hasPrefix("p-staging/1800000000-"))
        #expect(keys.startTime(of: staging) == started)
        #expect(keys.startTime(of: keys.newProbe(now: started)) == started)
        // Keys that are not ours, or not stamped, have no age: the sweeper leaves them alone.
        #expect(keys.startTime(of: "p-blobs/source/x") == nil)
        #expect(keys.startTime(of: "p-staging/not-a-number") == nil)
        #expect(keys.startTime(of: "other-staging/1-abc") == nil)
        #expect(S3ObjectKeys.listingPrefix(of: "p-staging/") == "p-staging")
    }
}

/// A client that is never used to send (only its addressing is tested), on the tests' shared HTTP client.
enum MotoLessClient {
    static func make(_ configuration: S3Configuration) -> S3Client {
        S3Client(configuration: configuration, http: MotoEnvironment.http, logger: Logger(label: "s3-parts"))
    }
}
