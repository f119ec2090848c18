/// A request refused to protect the controller from one client, rather than for what it asked.
///
/// Mapped to 429 with a `Retry-After` header in `ErrorMapping`/``ErrorMiddleware``.
public struct AbuseLimitError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The client failed authentication too often in the current window.
        case tooManyAuthenticationFailures
        /// The credential already has as many uploads in flight as allowed.
        case tooManyConcurrentUploads
    }

    public var code: Code
    /// Whole seconds after which a retry may succeed (the `Retry-After` value).
    public var retryAfterSeconds: Int

    public init(_ code: Code, retryAfterSeconds: Int) {
        self.code = code
        self.retryAfterSeconds = max(1, retryAfterSeconds)
    }

    /// The client-facing message.
    public var message: String {
        switch code {
        case .tooManyAuthenticationFailures: "Too many failed authentication attempts; retry later"
        case .tooManyConcurrentUploads: "Too many concurrent uploads for this credential; retry later"
        }
    }

    public var description: String { "AbuseLimitError(\(code), retry after \(retryAfterSeconds) s)" }
}
