import NIOCore

/// Every byte at rest: build sources, sealed certificate bundles and results.
///
/// Writes are streamed, bounded, hashed and atomic; reads stream in 64 KiB buffers with byte ranges. Locations come
/// from typed ``BlobKey``s only. See the module documentation for the layout and the atomicity argument.
public struct ArtifactStore: Sendable {
    /// The settings the store was made with.
    public let configuration: Configuration
    /// Where the bytes live.
    public let backend: any BlobBackend

    /// Opens the filesystem store at ``Configuration/root``: creates the layout and checks that it is a writable
    /// folder (``ArtifactStoreError/Code/storageUnavailable`` otherwise). Blocks briefly: call it at start-up.
    public init(configuration: Configuration) throws {
        let backend = try FileSystemBackend(
            root: configuration.root, threadPool: configuration.threadPool, readBatchSize: configuration.readBatchSize)
        self.init(configuration: configuration, backend: backend)
    }

    /// A store on another backend (the S3 driver of module `S3Storage`).
    public init(configuration: Configuration, backend: any BlobBackend) {
        self.configuration = configuration
        self.backend = backend
    }

    /// Starts a streaming write of at most `limit` bytes. ``BlobWriter/write(_:)`` throws
    /// ``ArtifactStoreError/Code/tooLarge`` as soon as the running total exceeds `limit`, having already removed
    /// the temporary file.
    public func makeWriter(for key: BlobKey, limit: Int64) async throws -> BlobWriter {
        let upload = try await backend.beginUpload(for: key)
        return BlobWriter(
            key: key, limit: limit, upload: upload, batchSize: configuration.writeBatchSize,
            threadPool: configuration.threadPool)
    }

    /// Writes a small blob (a sealed certificate bundle) in one call, atomically.
    public func write(_ bytes: [UInt8], to key: BlobKey) async throws -> BlobInfo {
        let writer = try await makeWriter(for: key, limit: Int64(bytes.count))
        do {
            try await writer.write(ByteBuffer(bytes: bytes))
            return try await writer.commit(expectedSHA256: nil, inspect: nil)
        } catch {
            await writer.abort()
            throw error
        }
    }

    /// Reads a whole blob into memory; for small blobs only. Throws ``ArtifactStoreError/Code/notFound`` when there
    /// is none and ``ArtifactStoreError/Code/tooLarge`` when it has more than `maxBytes` bytes.
    public func readAll(_ key: BlobKey, maxBytes: Int) async throws -> [UInt8] {
        let (size, source) = try await backend.openForReading(key)
        guard size <= Int64(maxBytes) else { throw ArtifactStoreError.tooLarge(key) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(size))
        for try await chunk in BlobContents(source: source, range: 0..<size, batchSize: configuration.readBatchSize) {
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }

    /// The size of the blob, or `nil` when there is none.
    public func size(of key: BlobKey) async throws -> Int64? {
        try await backend.size(of: key)
    }

    /// Streams the blob, or the inclusive byte `range` of it, in buffers of at most 64 KiB.
    ///
    /// The blob is opened before this returns: a missing one throws ``ArtifactStoreError/Code/notFound`` here, before
    /// a response starts, and the stream then serves the version opened even if the blob is replaced meanwhile. A
    /// range outside the blob throws ``ArtifactStoreError/Code/invalidRange`` (callers validate it first; this is
    /// the backstop).
    public func contents(of key: BlobKey, range: ClosedRange<Int64>?) async throws -> BlobContents {
        let (size, source) = try await backend.openForReading(key)
        let slice: Range<Int64>
        if let range {
            guard range.lowerBound >= 0, range.upperBound < size else { throw ArtifactStoreError.invalidRange(key) }
            slice = range.lowerBound..<(range.upperBound + 1)
        } else {
            slice = 0..<size
        }
        return BlobContents(source: source.narrowed(to: slice), range: slice, batchSize: configuration.readBatchSize)
    }

    /// A short-lived URL from which the client may fetch the blob straight from the backend, or `nil` when the
    /// backend has none (the filesystem). See ``BlobBackend/presignedDownloadURL(for:expiresIn:fileName:contentType:)``.
    public func presignedDownloadURL(for key: BlobKey, expiresIn: Duration, fileName: String, contentType: String)
        -> String?
    {
        backend.presignedDownloadURL(for: key, expiresIn: expiresIn, fileName: fileName, contentType: contentType)
    }

    /// Removes the blob durably; succeeds when there is none.
    public func delete(_ key: BlobKey) async throws {
        try await backend.delete(key)
    }

    /// Copies a blob to another key (a retried build's source), atomically like any write: the copy is streamed
    /// through a writer and becomes visible only when complete.
    public func copy(_ source: BlobKey, to destination: BlobKey) async throws -> BlobInfo {
        let contents = try await contents(of: source, range: nil)
        let writer = try await makeWriter(for: destination, limit: contents.count)
        do {
            for try await chunk in contents {
                try await writer.write(chunk)
            }
            return try await writer.commit(expectedSHA256: nil, inspect: nil)
        } catch {
            await writer.abort()
            throw error
        }
    }

    /// Removes the temporary files of crashed processes and dropped writers; returns how many.
    ///
    /// Writes still in flight hold a lock on their temporary file and are left alone, in this process or in another
    /// sharing the store, so this is safe at start-up and at any time after.
    public func sweepTemporaryFiles() async throws -> Int {
        try await backend.sweepAbandonedUploads()
    }

    /// Real figures for `/health`. Walks every blob: cheap for thousands, not for millions.
    public func usage() async throws -> StorageUsage {
        try await backend.usage()
    }

    /// Proves that a write can succeed now (creates, syncs and removes a probe file); throws
    /// ``ArtifactStoreError/Code/storageUnavailable`` otherwise. For `/health`.
    public func checkWritable() async throws {
        try await backend.checkWritable()
    }
}
