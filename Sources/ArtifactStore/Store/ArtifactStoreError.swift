/// The one error type of the module.
///
/// `description` is safe to show to a client or to write to an access log: it names the code, the key and, for
/// rejected archives, a short human reason, and never a path of the host or an OS error text. `debugDescription`
/// (what `String(reflecting:)` gives) adds the underlying error and where the error was raised, for server logs.
public struct ArtifactStoreError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, as a domain fact.
    public enum Code: Sendable, Equatable {
        /// The bytes exceed the limit the caller gave.
        case tooLarge
        /// No blob is stored under the key.
        case notFound
        /// The bytes do not match the SHA-256 the caller expected.
        case checksumMismatch
        /// The archive failed inspection (bomb, traversal, link, nesting, not a ZIP); see ``ArtifactStoreError/reason``.
        case archiveRejected
        /// The storage is not usable: missing, not writable, or full.
        case storageUnavailable
        /// Any other failure of the storage.
        case ioFailure
        /// A byte range outside the blob.
        case invalidRange
    }

    /// What went wrong.
    public var code: Code
    /// The blob concerned, where there is one.
    public var key: BlobKey?
    /// For ``Code/archiveRejected``: a short, client-safe human reason, e.g. "Archive expands too much". Never a path.
    public var reason: String?
    /// The error that caused this one, for logs only.
    public var underlying: (any Error)?
    /// Where the error was raised.
    public var file: String
    /// Where the error was raised.
    public var line: Int

    /// Makes an error; prefer the static factories, which capture the location.
    public init(
        code: Code, key: BlobKey? = nil, reason: String? = nil, underlying: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.key = key
        self.reason = reason
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    static func tooLarge(_ key: BlobKey?, file: String = #fileID, line: Int = #line) -> Self {
        Self(code: .tooLarge, key: key, file: file, line: line)
    }

    static func notFound(_ key: BlobKey?, underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line)
        -> Self
    {
        Self(code: .notFound, key: key, underlying: underlying, file: file, line: line)
    }

    static func checksumMismatch(_ key: BlobKey?, file: String = #fileID, line: Int = #line) -> Self {
        Self(code: .checksumMismatch, key: key, file: file, line: line)
    }

    static func archiveRejected(
        _ key: BlobKey?, reason: String, underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(code: .archiveRejected, key: key, reason: reason, underlying: underlying, file: file, line: line)
    }

    static func storageUnavailable(
        _ key: BlobKey? = nil, underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(code: .storageUnavailable, key: key, underlying: underlying, file: file, line: line)
    }

    static func ioFailure(
        _ key: BlobKey? = nil, underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line
    ) -> Self {
        Self(code: .ioFailure, key: key, underlying: underlying, file: file, line: line)
    }

    static func invalidRange(_ key: BlobKey?, file: String = #fileID, line: Int = #line) -> Self {
        Self(code: .invalidRange, key: key, file: file, line: line)
    }
}

extension ArtifactStoreError {
    /// Gives any failure the module's type: itself when it already is one, `storageUnavailable` for a full volume
    /// (not this blob's fault: the Gateway answers 503), `ioFailure` for the rest.
    static func wrapping(_ error: any Error, key: BlobKey?, file: String = #fileID, line: Int = #line) -> Self {
        switch error {
        case let error as ArtifactStoreError:
            return error
        case let error as SystemCallError where error.isOutOfSpace:
            return .storageUnavailable(key, underlying: error, file: file, line: line)
        default:
            return .ioFailure(key, underlying: error, file: file, line: line)
        }
    }
}

extension ArtifactStoreError {
    public var description: String {
        var text = "ArtifactStoreError.\(code)"
        if let key { text += " (\(key))" }
        if let reason { text += ": \(reason)" }
        return text
    }

    public var debugDescription: String {
        var text = description + " at \(file):\(line)"
        if let underlying { text += "; underlying: \(String(reflecting: underlying))" }
        return text
    }
}
