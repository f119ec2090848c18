import Foundation

/// Signs HTTP requests with AWS Signature Version 4, either with headers (`authorization`) or as a presigned URL.
///
/// The signer only computes: it never sends anything, reads no clock (the caller passes `date`) and keeps no state,
/// so one value can be shared by every request of a client.
public struct SigV4Signer: Sendable {
    /// How the request path becomes the canonical URI.
    public enum PathEncoding: Sendable {
        /// S3: the path is used exactly as given (the caller already URI-encoded it once); no normalisation,
        /// no second encoding. S3 object keys may contain `//`, `.` and `..`, which must not be collapsed.
        case s3
        /// Other services: normalise the path (RFC 3986 dot segments, duplicate slashes) and encode each segment
        /// again.
        case standard
    }

    /// The credentials that sign (and, with a session token, travel with) each request.
    public var credentials: AWSCredentials
    /// The region of the credential scope, e.g. `us-east-1`.
    public var region: String
    /// The service of the credential scope, e.g. `s3`.
    public var service: String
    /// How the request path becomes the canonical URI.
    public var pathEncoding: PathEncoding
    /// Whether ``signHeaders(method:host:path:query:headers:payload:date:)`` adds and signs `x-amz-content-sha256`.
    ///
    /// Defaults to `true` for the service `s3`, which requires the header on every request, and to `false` for
    /// other services, where it is optional and the payload hash only appears in the canonical request.
    public var sendsContentSHA256Header: Bool

    /// A signer for one service in one region.
    ///
    /// - Parameters:
    ///   - credentials: The credentials to sign with.
    ///   - region: The region of the credential scope, e.g. `us-east-1` (S3-compatible servers often want
    ///     `us-east-1` whatever their location).
    ///   - service: The service of the credential scope, e.g. `s3`.
    ///   - pathEncoding: How the path becomes the canonical URI. Defaults to ``PathEncoding/s3``.
    public init(credentials: AWSCredentials, region: String, service: String, pathEncoding: PathEncoding = .s3) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.pathEncoding = pathEncoding
        self.sendsContentSHA256Header = service == "s3"
    }

    /// The headers to add to a request so that it is signed.
    ///
    /// Returns `x-amz-date`, `x-amz-content-sha256` (when ``sendsContentSHA256Header``, always for service `s3`),
    /// `x-amz-security-token` (when there is a session token) and `authorization`, as (lowercase name, value)
    /// pairs in that order. The first three are signed along with `host` and `headers`.
    ///
    /// - Parameters:
    ///   - method: The HTTP method, e.g. `PUT`.
    ///   - host: The exact `Host` header value the client will send (with `:port` when not the scheme's default);
    ///     it is always signed.
    ///   - path: The request path as sent on the wire (already percent-encoded), e.g. `/bucket/key%20name`.
    ///   - query: The raw (unencoded) query items; send ``SigV4Encoding/canonicalQuery(_:)`` of them as the URL's
    ///     query so that what is signed is what is sent.
    ///   - headers: Further headers to sign (e.g. `range`, `content-type`, `content-md5`, `x-amz-copy-source`),
    ///     sent by the caller as given. Any `host`, `authorization` or header the signer adds itself is ignored.
    ///   - payload: The payload hash; ``PayloadHash/emptyBody`` for requests without a body.
    ///   - date: The signing time; servers reject it when it is more than 15 minutes off their clock.
    /// - Returns: The headers to add, as (lowercase name, value) pairs.
    public func signHeaders(
        method: String,
        host: String,
        path: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        payload: PayloadHash,
        date: Date
    ) -> [(name: String, value: String)] {
        self.headerSigning(
            method: method,
            host: host,
            path: path,
            query: query,
            headers: headers,
            payload: payload,
            date: date
        ).headers
    }

    /// A presigned URL: query-string authentication, valid for `expires` seconds from `date`.
    ///
    /// The query carries `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
    /// `X-Amz-SignedHeaders=host`, `X-Amz-Security-Token` (when there is a session token) and `X-Amz-Signature`;
    /// the payload is `UNSIGNED-PAYLOAD`, since whoever uses the URL chooses the body. The extra items come
    /// first in the order given, then the authentication items, the signature last (the order botocore uses;
    /// the server sorts them anyway).
    ///
    /// - Parameters:
    ///   - method: The HTTP method the URL is for, e.g. `GET`.
    ///   - scheme: `http` or `https`.
    ///   - host: The host as it appears in the URL and the `Host` header (with `:port` when not the default).
    ///   - path: The request path as sent on the wire (already percent-encoded).
    ///   - query: Extra raw (unencoded) items, e.g. `response-content-disposition`.
    ///   - expires: How long the URL is valid, in seconds: 1 through 604800 (seven days), as S3 allows.
    ///   - date: The signing time, from which `expires` counts.
    /// - Returns: The whole URL, `scheme://host/path?query`.
    public func presignedURL(
        method: String,
        scheme: String,
        host: String,
        path: String,
        query: [(name: String, value: String)],
        expires: Int,
        date: Date
    ) -> String {
        precondition((1...604_800).contains(expires), "X-Amz-Expires must be 1...604800 seconds, not \(expires)")
        let signed = self.querySigning(
            method: method,
            host: host,
            path: path,
            query: query,
            headers: [],
            payloadHash: PayloadHash.unsigned.headerValue,
            expires: expires,
            date: date
        )
        let items = signed.query + [(name: "X-Amz-Signature", value: signed.result.signature)]
        let encodedQuery = items.map { item in
            SigV4Encoding.encode(item.name, encodeSlash: true) + "="
                + SigV4Encoding.encode(item.value, encodeSlash: true)
        }
        .joined(separator: "&")
        return "\(scheme)://\(host)\(path.isEmpty ? "/" : path)?\(encodedQuery)"
    }
}
