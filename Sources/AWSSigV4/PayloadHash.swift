import Crypto

/// What `x-amz-content-sha256` says about the body, and what the canonical request ends with.
public enum PayloadHash: Sendable, Equatable {
    /// The body is not signed: `UNSIGNED-PAYLOAD`. S3 accepts it (the body is still covered by TLS and any
    /// checksum header); presigned URLs always use it, since the signer cannot know the body.
    case unsigned
    /// The lowercase hex SHA-256 of the body.
    case sha256(hex: String)

    /// The SHA-256 of the empty body (`e3b0c442…b855`), for requests without one (GET, HEAD, DELETE).
    public static let emptyBody: PayloadHash = .sha256(
        hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )

    /// The SHA-256 of a body held in memory.
    ///
    /// - Parameter body: The exact bytes that will be sent.
    /// - Returns: ``sha256(hex:)`` with the lowercase hex digest of `body`.
    public static func sha256<Body: Sequence<UInt8>>(of body: Body) -> PayloadHash {
        var hasher = SHA256()
        hasher.update(data: Array(body))
        return .sha256(hex: Hex.lowercase(hasher.finalize()))
    }

    /// The value of `x-amz-content-sha256`, which is also the last line of the canonical request.
    public var headerValue: String {
        switch self {
        case .unsigned: "UNSIGNED-PAYLOAD"
        case .sha256(let hex): hex
        }
    }
}
