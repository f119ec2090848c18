import AWSSigV4
import Foundation
import Testing

/// botocore's S3 signers (`S3SigV4Auth`, `S3SigV4QueryAuth`) as a second opinion on the S3 requests the driver makes.
///
/// All requests go to botocore in one python3 run; a missing python3 or botocore fails the test (CI has both).
@Suite("botocore agrees")
struct BotocoreTests {
    /// A request as the S3 driver would sign it, and how botocore is told the same thing.
    struct S3Request: CustomTestStringConvertible {
        var id: String
        var method: String
        var scheme = "http"
        var host = "127.0.0.1:9000"
        var region = "us-east-1"
        /// As sent on the wire: object keys encoded once, slashes kept.
        var path: String
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body = ""
        var unsignedPayload = false
        var credentials = BotocoreTests.credentials
        /// Seconds since 1970 and the same instant as botocore's `yyyyMMdd'T'HHmmss'Z'`.
        var time: (epoch: TimeInterval, stamp: String) = (1_768_469_400, "20260115T093000Z")
        /// Presigned when set: valid for this many seconds.
        var expires: Int?

        var testDescription: String { self.id }

        var payload: PayloadHash { self.unsignedPayload ? .unsigned : .sha256(of: Array(self.body.utf8)) }

        var botocoreCase: Botocore.Case {
            Botocore.Case(
                id: self.id,
                kind: self.expires == nil ? .header : .query,
                method: self.method,
                url: "\(self.scheme)://\(self.host)\(self.path)",
                headers: self.headers.map { [$0.name, $0.value] },
                params: self.query.map { [$0.name, $0.value] },
                body: self.body,
                unsignedPayload: self.unsignedPayload,
                expires: self.expires ?? 0,
                accessKey: self.credentials.accessKeyID,
                secretKey: self.credentials.secretAccessKey,
                token: self.credentials.sessionToken,
                region: self.region,
                timestamp: self.time.stamp
            )
        }
    }

    static let credentials = AWSCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    static let temporaryCredentials = AWSCredentials(
        accessKeyID: "ASIAIOSFODNN7EXAMPLE",
        secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE+/token//with==padding"
    )
    /// A key with a space, `+`, `~`, non-ASCII letters, a symbol outside the BMP and a slash.
    static let awkwardKey = "dir/a b+c~d/ünï©ødé ✓ 🚀.txt"

    static let requests: [S3Request] = [
        S3Request(
            id: "put-path-style-body-hash",
            method: "PUT",
            path: "/bucket/key%20with%20space/x",
            headers: [("content-type", "application/octet-stream")],
            body: "hello, world\n"
        ),
        S3Request(
            id: "get-path-style-range",
            method: "GET",
            path: "/bucket/key%20with%20space/x",
            headers: [("range", "bytes=100-199")]
        ),
        S3Request(
            id: "put-virtual-hosted-unsigned-payload",
            method: "PUT",
            scheme: "https",
            host: "bucket.s3.eu-west-1.amazonaws.com",
            region: "eu-west-1",
            path: "/key",
            headers: [("content-length", "3")],
            body: "abc",
            unsignedPayload: true
        ),
        S3Request(
            id: "get-virtual-hosted-body-hash",
            method: "GET",
            scheme: "https",
            host: "bucket.s3.eu-west-1.amazonaws.com",
            region: "eu-west-1",
            path: "/key"
        ),
        S3Request(
            id: "get-awkward-key-session-token",
            method: "GET",
            path: "/bucket/" + SigV4Encoding.encode(awkwardKey, encodeSlash: false),
            credentials: temporaryCredentials
        ),
        S3Request(
            id: "list-objects-query-leap-second-day",
            method: "GET",
            path: "/bucket",
            query: [("list-type", "2"), ("prefix", "a b/ü+"), ("continuation-token", "x+y/z=="), ("delimiter", "/")],
            time: (1_709_251_199, "20240229T235959Z")
        ),
        S3Request(
            id: "initiate-multipart-empty-query-value",
            method: "POST",
            scheme: "https",
            host: "bucket.s3.eu-west-1.amazonaws.com",
            region: "eu-west-1",
            path: "/big%2Bfile.bin",
            query: [("uploads", "")]
        ),
        S3Request(
            id: "copy-object-headers-trimmed",
            method: "PUT",
            path: "/bucket/dst",
            headers: [
                ("x-amz-copy-source", "/bucket/src%20key"), ("x-amz-metadata-directive", "REPLACE"),
                ("x-amz-meta-note", "  two   spaces  "), ("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
            ],
            credentials: temporaryCredentials
        ),
        S3Request(
            id: "presign-get-virtual-hosted-disposition",
            method: "GET",
            scheme: "https",
            host: "bucket.s3.eu-west-1.amazonaws.com",
            region: "eu-west-1",
            path: "/reports/q1.pdf",
            query: [("response-content-disposition", "attachment; filename=\"report 2026 ü.pdf\"")],
            expires: 900
        ),
        S3Request(
            id: "presign-get-awkward-key-session-token",
            method: "GET",
            path: "/bucket/" + SigV4Encoding.encode(awkwardKey, encodeSlash: false),
            credentials: temporaryCredentials,
            expires: 604_800
        ),
        S3Request(id: "presign-put-path-style", method: "PUT", path: "/bucket/upload%2Bplus", expires: 3600),
    ]

    /// botocore's answers, computed once for all the tests of this suite.
    static let botocore = Result { try Botocore.sign(Self.requests.map(\.botocoreCase)) }

    @Test(arguments: Self.requests)
    func signing_matchesBotocore(request: S3Request) throws {
        let output = try Self.botocore.get()
        let answer = try #require(output.results[request.id], "botocore \(output.botocoreVersion) gave no answer")
        let signer = SigV4Signer(credentials: request.credentials, region: request.region, service: "s3")
        let date = Date(timeIntervalSince1970: request.time.epoch)

        if let expires = request.expires {
            let url = signer.presignedURL(
                method: request.method,
                scheme: request.scheme,
                host: request.host,
                path: request.path,
                query: request.query,
                expires: expires,
                date: date
            )
            #expect(url == answer.url)
        } else {
            let ours = signer.signHeaders(
                method: request.method,
                host: request.host,
                path: request.path,
                query: request.query,
                headers: request.headers,
                payload: request.payload,
                date: date
            )
            let theirs = try #require(answer.headers)
            for (name, value) in ours {
                #expect(theirs[name] == value, "\(name)")
            }
            // botocore's request holds the caller's headers too; besides those, we add exactly what it adds.
            let callerNames = Set(request.headers.map { $0.name.lowercased() })
            #expect(Set(ours.map(\.name)) == Set(theirs.keys).subtracting(callerNames))
        }
    }
}
