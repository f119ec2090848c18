/// Real figures about the store, for `/health`.
public struct StorageUsage: Sendable {
    /// The backend's name: `"filesystem"` or `"s3"`.
    public let backend: String
    /// The bytes held by committed blobs (temporary files of writes in flight are not counted).
    public let bytesUsed: Int64
    /// The number of committed blobs.
    public let blobCount: Int
    /// The bytes still available to this process on the storage volume; `nil` for a bucket, which has no such limit.
    public let freeBytes: Int64?

    /// Describes the state of a backend.
    public init(backend: String, bytesUsed: Int64, blobCount: Int, freeBytes: Int64?) {
        self.backend = backend
        self.bytesUsed = bytesUsed
        self.blobCount = blobCount
        self.freeBytes = freeBytes
    }
}
