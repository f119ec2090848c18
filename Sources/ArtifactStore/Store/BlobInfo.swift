/// What a committed write produced: its exact size and the SHA-256 of its bytes.
public struct BlobInfo: Sendable, Equatable {
    /// The number of bytes stored.
    public let size: Int64
    /// The SHA-256 of the stored bytes, 64 lowercase hex digits.
    public let sha256: String

    /// Describes a stored blob.
    public init(size: Int64, sha256: String) {
        self.size = size
        self.sha256 = sha256
    }
}
