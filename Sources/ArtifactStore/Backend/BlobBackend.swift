import NIOCore

/// Where blobs live. The filesystem driver (``FileSystemBackend``) is the only one today; the shape follows an
/// object store's multipart upload (begin, append parts, commit or abort) so that an S3 driver can be added
/// without touching ``ArtifactStore`` or its callers.
///
/// Drivers do no limit, checksum or archive policy: ``BlobWriter`` does that once for every driver.
public protocol BlobBackend: Sendable {
    /// The name reported by ``StorageUsage/backend``, e.g. `"filesystem"`.
    var name: String { get }

    /// Starts a staged upload for `key`. Nothing is visible under `key` until ``BlobUpload/commit()`` returns.
    func beginUpload(for key: BlobKey) async throws -> any BlobUpload

    /// The size of the committed blob, or `nil` when there is none.
    func size(of key: BlobKey) async throws -> Int64?

    /// Opens the committed blob for reading (throws ``ArtifactStoreError/Code/notFound`` when there is none), and
    /// returns its size and a source of its bytes.
    func openForReading(_ key: BlobKey) async throws -> (size: Int64, source: any BlobByteSource)

    /// Removes the committed blob; succeeds when there is none.
    func delete(_ key: BlobKey) async throws

    /// Removes what crashed or abandoned uploads left behind, leaving uploads that are still in flight alone, even
    /// those of other processes; returns how many were removed.
    func sweepAbandonedUploads() async throws -> Int

    /// Real figures about the store.
    func usage() async throws -> StorageUsage

    /// Proves the store can take a write now; throws ``ArtifactStoreError/Code/storageUnavailable`` otherwise.
    func checkWritable() async throws
}

/// One staged upload of a ``BlobBackend``. Calls never overlap: ``BlobWriter`` serialises them.
public protocol BlobUpload: Sendable {
    /// Appends the next bytes of the blob, given as consecutive buffers (written in one call: `writev` for a file,
    /// one part for an object store).
    func append(_ parts: [ByteBuffer]) async throws

    /// Runs `body` where it may block, with random access to every byte appended so far, before they are committed.
    func inspectStaged<T: Sendable>(_ body: @escaping @Sendable (any StagedBlobReader) throws -> T) async throws -> T

    /// Makes the staged bytes durable and visible under the key, atomically replacing any blob there.
    func commit() async throws

    /// Discards the staged bytes. Idempotent; never throws, because it runs on paths that are already failing.
    func abort() async
}

/// Blocking random access to staged bytes, used by archive inspection on a thread that may block.
public protocol StagedBlobReader {
    /// The number of staged bytes.
    var size: Int64 { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
}

/// Positional reads of one committed blob, opened by ``BlobBackend/openForReading(_:)``.
public protocol BlobByteSource: Sendable {
    /// Reads up to `length` bytes at `offset`; an empty buffer only at the end.
    func read(at offset: Int64, length: Int) async throws -> ByteBuffer
}
