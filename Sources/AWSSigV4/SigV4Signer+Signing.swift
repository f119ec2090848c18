import Crypto
import Foundation

/// The steps behind the public API, visible to the package so that tests can compare each one with the
/// published vectors and with botocore.
extension SigV4Signer {
    static let algorithm = "AWS4-HMAC-SHA256"

    /// Header signing: the headers to add and every intermediate step.
    ///
    /// See ``signHeaders(method:host:path:query:headers:payload:date:)``.
    package func headerSigning(
        method: String,
        host: String,
        path: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        payload: PayloadHash,
        date: Date
    ) -> (headers: [(name: String, value: String)], result: SigningResult) {
        let when = SigningDate(date)
        var added: [(name: String, value: String)] = [(name: "x-amz-date", value: when.timestamp)]
        if self.sendsContentSHA256Header {
            added.append((name: "x-amz-content-sha256", value: payload.headerValue))
        }
        if let token = self.credentials.sessionToken {
            added.append((name: "x-amz-security-token", value: token))
        }
        // The signer's own headers win over the caller's: a stale x-amz-date or a second host would make the
        // signed request differ from the sent one.
        let owned = Set(["host", "authorization"] + added.map(\.name))
        let callerHeaders = headers.filter { !owned.contains($0.name.lowercased()) }

        let canonical = CanonicalRequest(
            method: method,
            path: SigV4Encoding.canonicalPath(path, encoding: self.pathEncoding),
            query: SigV4Encoding.canonicalQuery(query),
            headers: [(name: "host", value: host)] + callerHeaders + added,
            payloadHash: payload.headerValue
        )
        let result = self.sign(canonical, date: when)
        let authorization =
            "\(Self.algorithm) Credential=\(self.credentials.accessKeyID)/\(result.credentialScope), "
            + "SignedHeaders=\(result.signedHeaders), Signature=\(result.signature)"
        return (added + [(name: "authorization", value: authorization)], result)
    }

    /// Query signing: the query items to send (extra items, then authentication items, without the signature)
    /// and every intermediate step.
    ///
    /// `headers` besides `host` are signed too (they must then be sent with the URL); the public
    /// ``presignedURL(method:scheme:host:path:query:expires:date:)`` signs only `host`.
    package func querySigning(
        method: String,
        host: String,
        path: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        payloadHash: String,
        expires: Int,
        date: Date
    ) -> (query: [(name: String, value: String)], result: SigningResult) {
        let when = SigningDate(date)
        let callerHeaders = headers.filter { $0.name.lowercased() != "host" }
        let signedHeaders = CanonicalRequest(
            method: method,
            path: "",
            query: "",
            headers: [(name: "host", value: host)] + callerHeaders,
            payloadHash: payloadHash
        ).signedHeaders
        var auth: [(name: String, value: String)] = [
            (name: "X-Amz-Algorithm", value: Self.algorithm),
            (name: "X-Amz-Credential", value: "\(self.credentials.accessKeyID)/\(self.credentialScope(when))"),
            (name: "X-Amz-Date", value: when.timestamp),
            (name: "X-Amz-Expires", value: String(expires)),
            (name: "X-Amz-SignedHeaders", value: signedHeaders),
        ]
        if let token = self.credentials.sessionToken {
            auth.append((name: "X-Amz-Security-Token", value: token))
        }
        let canonical = CanonicalRequest(
            method: method,
            path: SigV4Encoding.canonicalPath(path, encoding: self.pathEncoding),
            query: SigV4Encoding.canonicalQuery(query + auth),
            headers: [(name: "host", value: host)] + callerHeaders,
            payloadHash: payloadHash
        )
        return (query + auth, self.sign(canonical, date: when))
    }

    /// String to sign and signature of a canonical request.
    func sign(_ canonical: CanonicalRequest, date: SigningDate) -> SigningResult {
        let canonicalText = canonical.text
        let scope = self.credentialScope(date)
        let stringToSign = [
            Self.algorithm,
            date.timestamp,
            scope,
            Hex.lowercase(SHA256.hash(data: Array(canonicalText.utf8))),
        ].joined(separator: "\n")
        let signature = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: self.signingKey(date))
        return SigningResult(
            canonicalRequest: canonicalText,
            stringToSign: stringToSign,
            signature: Hex.lowercase(signature),
            signedHeaders: canonical.signedHeaders,
            credentialScope: scope
        )
    }

    /// `yyyyMMdd/region/service/aws4_request`.
    func credentialScope(_ date: SigningDate) -> String {
        "\(date.dateStamp)/\(self.region)/\(self.service)/aws4_request"
    }

    /// The signing key: HMAC chain from `"AWS4" + secret` over the date, region, service and `aws4_request`, so that
    /// a leaked key is good for one day, region and service only.
    func signingKey(_ date: SigningDate) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(self.credentials.secretAccessKey)".utf8))
        for part in [date.dateStamp, self.region, self.service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }
}
