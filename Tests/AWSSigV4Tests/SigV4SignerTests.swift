import AWSSigV4
import Foundation
import Testing

/// The signer's own rules around the published vectors: dates, which headers it adds, and what it ignores.
@Suite("SigV4Signer")
struct SigV4SignerTests {
    static let credentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    )

    static func amzDate(_ date: Date) -> String? {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        return signer.signHeaders(
            method: "GET",
            host: "h",
            path: "/",
            query: [],
            headers: [],
            payload: .emptyBody,
            date: date
        ).first { $0.name == "x-amz-date" }?.value
    }

    @Test func date_isFormattedInUTCWholeSeconds() {
        #expect(Self.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(Self.amzDate(Date(timeIntervalSince1970: 1_709_251_199.999)) == "20240229T235959Z")
        #expect(Self.amzDate(Date(timeIntervalSince1970: 1_709_251_200)) == "20240301T000000Z")
        #expect(Self.amzDate(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(Self.amzDate(Date(timeIntervalSince1970: -0.5)) == "19691231T235959Z")
        #expect(Self.amzDate(Date(timeIntervalSince1970: 951_782_400)) == "20000229T000000Z")
        #expect(Self.amzDate(Date(timeIntervalSince1970: 4_107_542_400)) == "21000301T000000Z")
    }

    @Test func date_agreesWithTheGregorianCalendarOverCenturies() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let date = Date(
                timeIntervalSince1970: TimeInterval(Int64.random(in: -2_208_988_800...7_258_118_400, using: &generator))
            )
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(
                format: "%04d%02d%02dT%02d%02d%02dZ",
                parts.year!,
                parts.month!,
                parts.day!,
                parts.hour!,
                parts.minute!,
                parts.second!
            )
            #expect(Self.amzDate(date) == expected)
        }
    }

    @Test func signHeaders_addsItsHeadersInOrder_andDropsTheCallersCopies() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token"),
            region: "us-east-1",
            service: "s3"
        )
        let date = Date(timeIntervalSince1970: 1_440_938_160)
        let plain = signer.signHeaders(
            method: "GET",
            host: "h:9000",
            path: "/b/k",
            query: [],
            headers: [],
            payload: .unsigned,
            date: date
        )
        let withStaleCopies = signer.signHeaders(
            method: "GET",
            host: "h:9000",
            path: "/b/k",
            query: [],
            headers: [("Host", "other"), ("X-Amz-Date", "20000101T000000Z"), ("Authorization", "x")],
            payload: .unsigned,
            date: date
        )
        #expect(plain.map(\.name) == ["x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization"])
        #expect(plain.map(\.value).dropLast() == ["20150830T123600Z", "UNSIGNED-PAYLOAD", "token"])
        #expect(withStaleCopies.map(\.value) == plain.map(\.value))
        #expect(
            plain.last?.value.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/aws4_request, "
                    + "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="
            ) == true
        )
    }

    @Test func signHeaders_sendsContentSHA256OnlyForS3ByDefault() {
        let s3 = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        let other = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "sts")
        #expect(s3.sendsContentSHA256Header)
        #expect(!other.sendsContentSHA256Header)
        let names = other.signHeaders(
            method: "GET",
            host: "h",
            path: "/",
            query: [],
            headers: [],
            payload: .emptyBody,
            date: Date()
        ).map(\.name)
        #expect(names == ["x-amz-date", "authorization"])
    }

    @Test func canonicalHeaders_lowercaseTrimCollapseJoinAndSort() {
        let canonical = CanonicalRequest(
            method: "GET",
            path: "/",
            query: "",
            headers: [
                ("X-B", "\t two\r\n   lines "), ("host", "h"), ("x-a", "1"), ("X-A", " 2 "), ("x-c", "a \u{301}b"),
            ],
            payloadHash: "UNSIGNED-PAYLOAD"
        )
        #expect(canonical.signedHeaders == "host;x-a;x-b;x-c")
        #expect(
            canonical.text
                == "GET\n/\n\nhost:h\nx-a:1,2\nx-b:two lines\nx-c:a \u{301}b\n\nhost;x-a;x-b;x-c\nUNSIGNED-PAYLOAD"
        )
    }

    @Test func payloadHash_ofABodyIsItsHexSHA256() {
        #expect(PayloadHash.sha256(of: []) == .emptyBody)
        #expect(
            PayloadHash.sha256(of: Array("Param1=value1".utf8)).headerValue
                == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        )
        #expect(PayloadHash.unsigned.headerValue == "UNSIGNED-PAYLOAD")
    }

    @Test func presignedURL_keepsThePathAsSent_andPutsTheSignatureLast() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        let url = signer.presignedURL(
            method: "GET",
            scheme: "http",
            host: "127.0.0.1:9000",
            path: "/bucket/a%20b//c/../d",
            query: [("response-content-type", "text/plain")],
            expires: 60,
            date: Date(timeIntervalSince1970: 1_440_938_160)
        )
        let prefix =
            "http://127.0.0.1:9000/bucket/a%20b//c/../d?response-content-type=text%2Fplain"
            + "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature="
        #expect(url.hasPrefix(prefix))
        #expect(url.count == prefix.count + 64)
    }
}
