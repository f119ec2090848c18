import NIOCore

/// Where blobs live: the filesystem driver (``FileSystemBackend``) or the S3 driver (module `S3Storage`). The shape
/// follows an object store's multipart upload (begin, append parts, commit or abort), so drivers are swapped
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

    /// A short-lived URL from which a client may fetch the committed blob itself, without the controller, or `nil`
    /// when the backend cannot give one (the filesystem). `fileName` and `contentType` are what the download would
    /// have sent as `Content-Disposition` and `Content-Type`.
    func presignedDownloadURL(for key: BlobKey, expiresIn: Duration, fileName: String, contentType: String) -> String?
}

extension BlobBackend {
    public func presignedDownloadURL(for key: BlobKey, expiresIn: Duration, fileName: String, contentType: String)
        -> String?
    {
        nil
    }
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

    /// ``read(at:length:)``, into the storage of `spare` (a buffer this reader returned before) when nothing else
    /// holds it any more, instead of new memory. The default ignores `spare`.
    func read(at offset: Int64, length: Int, reusing spare: consuming ByteBuffer) async throws -> ByteBuffer

    /// The same blob, for a reader that will read nothing outside `range` (an object store then asks for just that
    /// range, instead of the rest of the object). The default is the source itself.
    func narrowed(to range: Range<Int64>) -> any BlobByteSource
}

extension BlobByteSource {
    public func narrowed(to range: Range<Int64>) -> any BlobByteSource { self }

    public func read(at offset: Int64, length: Int, reusing spare: consuming ByteBuffer) async throws -> ByteBuffer {
        try await read(at: offset, length: length)
    }
}
