/// A failed call to the bucket.
///
/// `description` names the operation, the HTTP status and S3's error code only: S3's messages can quote the
/// canonical request it computed, so they go to `debugDescription` (server logs), never to a client.
public struct S3Error: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// The bucket answered with an error status; ``S3Error/s3Code`` says which (e.g. `SignatureDoesNotMatch`).
        case rejected
        /// No answer: the connection failed or the request timed out.
        case unreachable
        /// An answer this client cannot read (a missing upload id, say).
        case invalidResponse
    }

    /// What went wrong.
    public var code: Code
    /// The S3 operation, e.g. `"UploadPart"`.
    public var operation: String
    /// The HTTP status, when there was an answer.
    public var status: Int?
    /// S3's error code from the XML body, e.g. `NoSuchKey`, `SlowDown`.
    public var s3Code: String?
    /// S3's message, for logs only.
    public var message: String?
    /// The transport error, for logs only.
    public var underlying: (any Error)?

    /// Makes an error.
    public init(
        code: Code, operation: String, status: Int? = nil, s3Code: String? = nil, message: String? = nil,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.operation = operation
        self.status = status
        self.s3Code = s3Code
        self.message = message
        self.underlying = underlying
    }

    /// The object (or bucket) does not exist.
    public var isNotFound: Bool { status == 404 }

    /// Worth another attempt: no answer, a 5xx, or S3 asking to slow down.
    var isTransient: Bool {
        switch code {
        case .unreachable: return true
        case .invalidResponse: return false
        case .rejected: return (status ?? 0) >= 500 || s3Code == "SlowDown" || s3Code == "RequestTimeout"
        }
    }

    public var description: String {
        var text = "S3Error.\(code) (\(operation)"
        if let status { text += ", HTTP \(status)" }
        if let s3Code { text += ", \(s3Code)" }
        return text + ")"
    }

    public var debugDescription: String {
        var text = description
        if let message { text += ": \(message)" }
        if let underlying { text += "; underlying: \(String(reflecting: underlying))" }
        return text
    }
}
