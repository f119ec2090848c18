import AWSSigV4
import Crypto
import Foundation
import Testing

/// The published AWS SigV4 test suite (awslabs/aws-c-auth, see Vectors/README.md): every step must match.
@Suite("AWS SigV4 test suite")
struct SigningTestSuiteTests {
    /// Every case copied into Vectors/ (all of the suite's v4 cases but post-sts-header-after).
    static let caseNames = [
        "get-header-key-duplicate", "get-header-value-multiline", "get-header-value-order", "get-header-value-trim",
        "get-relative-normalized", "get-relative-relative-normalized", "get-relative-relative-unnormalized",
        "get-relative-unnormalized", "get-slash-dot-slash-normalized", "get-slash-dot-slash-unnormalized",
        "get-slash-normalized", "get-slash-pointless-dot-normalized", "get-slash-pointless-dot-unnormalized",
        "get-slash-unnormalized", "get-slashes-normalized", "get-slashes-unnormalized", "get-space-normalized",
        "get-space-unnormalized", "get-unreserved", "get-utf8", "get-vanilla-empty-query-key",
        "get-vanilla-query-order-encoded", "get-vanilla-query-order-key-case", "get-vanilla-query-unreserved",
        "get-vanilla-query", "get-vanilla-utf8-query", "get-vanilla-with-session-token", "get-vanilla",
        "post-header-key-case", "post-header-key-sort", "post-header-value-case", "post-sts-header-before",
        "post-vanilla-empty-query-value", "post-vanilla-query", "post-vanilla", "post-x-www-form-urlencoded-parameters",
        "post-x-www-form-urlencoded",
    ]

    @Test func vectors_areAllPresent() throws {
        let present = try FileManager.default.contentsOfDirectory(atPath: SigningTestSuiteCase.directory.path)
        #expect(Set(present) == Set(Self.caseNames))
    }

    @Test(arguments: Self.caseNames)
    func headerSigning_matchesTheSuite(name: String) throws {
        let vector = try SigningTestSuiteCase(name: name)
        let (headers, result) = Self.signer(for: vector).headerSigning(
            method: vector.method,
            host: vector.host,
            path: Self.wirePath(of: vector),
            query: vector.query,
            headers: vector.headers,
            payload: Self.payload(of: vector),
            date: try vector.date
        )

        #expect(result.canonicalRequest == (try vector.file("header-canonical-request.txt")))
        #expect(result.stringToSign == (try vector.file("header-string-to-sign.txt")))
        #expect(result.signature == (try vector.file("header-signature.txt")))
        // The headers we add are the suite's signed request's, value for value.
        for (name, value) in headers {
            #expect(try vector.signedRequestHeader(name) == value, "\(name)")
        }
        #expect(headers.map(\.name).contains("authorization"))
    }

    @Test(arguments: Self.caseNames)
    func querySigning_matchesTheSuite(name: String) throws {
        let vector = try SigningTestSuiteCase(name: name)
        let (query, result) = Self.signer(for: vector).querySigning(
            method: vector.method,
            host: vector.host,
            path: Self.wirePath(of: vector),
            query: vector.query,
            headers: vector.headers,
            payloadHash: Self.payload(of: vector).headerValue,
            expires: vector.context.expirationInSeconds,
            date: try vector.date
        )

        #expect(result.canonicalRequest == (try vector.file("query-canonical-request.txt")))
        #expect(result.stringToSign == (try vector.file("query-string-to-sign.txt")))
        #expect(result.signature == (try vector.file("query-signature.txt")))
        #expect(SigV4Encoding.canonicalQuery(query) == result.canonicalRequest.split(separator: "\n")[2])
    }

    /// With only `host` signed, the public presigned URL is the suite's query signing with `UNSIGNED-PAYLOAD`
    /// instead of the empty body's hash, so its canonical request is the suite's with that last line swapped.
    @Test func presignedURL_signsTheSuitesCanonicalRequestWithUnsignedPayload() throws {
        let vector = try SigningTestSuiteCase(name: "get-vanilla-with-session-token")
        let url = Self.signer(for: vector).presignedURL(
            method: "GET",
            scheme: "https",
            host: vector.host,
            path: "/",
            query: [],
            expires: 3600,
            date: try vector.date
        )
        var canonical = try vector.file("query-canonical-request.txt")
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        canonical[canonical.count - 1] = "UNSIGNED-PAYLOAD"
        let stringToSign = [
            "AWS4-HMAC-SHA256", "20150830T123600Z", "20150830/us-east-1/service/aws4_request",
            SHA256.hash(data: Array(canonical.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }
                .joined(),
        ].joined(separator: "\n")
        let key = ["20150830", "us-east-1", "service", "aws4_request"].reduce(
            SymmetricKey(data: Array("AWS4\(vector.context.credentials.secretAccessKey)".utf8))
        ) { key, part in SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)) }
        let signature = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)
            .map { String(format: "%02x", $0) }.joined()

        let token = try #require(vector.context.credentials.token)
        let expected =
            "https://example.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request"
            + "&X-Amz-Date=20150830T123600Z"
            + "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=\(token)&X-Amz-Signature=\(signature)"
        #expect(url == expected)
    }

    static func signer(for vector: SigningTestSuiteCase) -> SigV4Signer {
        let credentials = vector.context.credentials
        var signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: credentials.accessKeyID,
                secretAccessKey: credentials.secretAccessKey,
                sessionToken: credentials.token
            ),
            region: vector.context.region,
            service: vector.context.service,
            pathEncoding: vector.context.normalize ? .standard : .s3
        )
        signer.sendsContentSHA256Header = vector.context.signBody
        return signer
    }

    /// The suite's "normalize: false" is "encode once, don't normalise": S3's encoding of a path the caller
    /// encoded once, exactly as the S3 driver encodes object keys (see Vectors/README.md).
    static func wirePath(of vector: SigningTestSuiteCase) -> String {
        vector.context.normalize ? vector.path : SigV4Encoding.encode(vector.path, encodeSlash: false)
    }

    static func payload(of vector: SigningTestSuiteCase) -> PayloadHash {
        .sha256(of: Array(vector.body.utf8))
    }
}
