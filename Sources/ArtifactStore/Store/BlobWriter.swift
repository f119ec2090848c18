import Crypto
import NIOCore

/// A streaming write of one blob: counts, hashes and stages the bytes, and makes them visible only on
/// ``commit(expectedSHA256:inspect:)``.
///
/// Small chunks are gathered into batches of ``ArtifactStore/Configuration/writeBatchSize`` so that a 1 GiB upload
/// costs one thread hop per batch; each batch is hashed here while the thread pool writes it, in parallel. Calls
/// must not overlap: await each `write` before the next (``abort()`` is the exception: it may come at any time).
///
/// A writer that is neither committed nor aborted never makes a blob visible; its temporary file is removed by
/// ``ArtifactStore/sweepTemporaryFiles()``.
public actor BlobWriter {
    private enum State {
        case open
        case busy
        case finished
    }

    /// The blob being written.
    public nonisolated let key: BlobKey
    /// The most bytes the blob may have.
    public nonisolated let limit: Int64
    private let upload: any BlobUpload
    private let batchSize: Int
    private var batch: ByteBuffer
    private var hasher = SHA256()
    private var received: Int64 = 0
    private var state = State.open
    /// `abort()` came while a call was running: that call discards the upload when it resumes, because closing
    /// the file under a write in flight could hand its descriptor number to someone else's file.
    private var abortRequested = false

    init(key: BlobKey, limit: Int64, upload: any BlobUpload, batchSize: Int) {
        self.key = key
        self.limit = limit
        self.upload = upload
        self.batchSize = batchSize
        self.batch = ByteBufferAllocator().buffer(capacity: 0)
    }

    /// The number of bytes received so far.
    public var bytesReceived: Int64 { received }

    /// Appends `chunk`. Throws ``ArtifactStoreError/Code/tooLarge`` as soon as the running total exceeds the limit,
    /// after removing the temporary file; any failure leaves the writer finished and nothing behind.
    public func write(_ chunk: ByteBuffer) async throws {
        try begin()
        received += Int64(chunk.readableBytes)
        guard received <= limit else {
            await discard()
            throw ArtifactStoreError.tooLarge(key)
        }
        if batch.readableBytes == 0 && chunk.readableBytes >= batchSize {
            // Large chunks go straight through, without a copy.
            try await flush(chunk)
        } else {
            if batch.capacity == 0 { batch = ByteBufferAllocator().buffer(capacity: batchSize) }
            batch.writeImmutableBuffer(chunk)
            if batch.readableBytes >= batchSize {
                let full = batch
                batch = ByteBufferAllocator().buffer(capacity: 0)
                try await flush(full)
            }
        }
        state = .open
    }

    /// Finishes the write. In order: writes what is batched; compares the SHA-256 with `expectedSHA256` when given
    /// (``ArtifactStoreError/Code/checksumMismatch``; the cheap check comes first); inspects the staged bytes as an
    /// archive when `inspect` is given (``ArtifactStoreError/Code/archiveRejected``); then syncs the file, renames it
    /// into place and syncs the folder. On any failure the temporary file is removed and nothing becomes visible.
    ///
    /// - Returns: The size and SHA-256 computed while streaming.
    public func commit(expectedSHA256: String?, inspect: ArchiveLimits?) async throws -> BlobInfo {
        try begin()
        do {
            if batch.readableBytes > 0 {
                let last = batch
                batch = ByteBufferAllocator().buffer(capacity: 0)
                try await flush(last)
            }
            let digest = hasher.finalize().map { String($0, radix: 16).leftPadded(to: 2) }.joined()
            if let expectedSHA256, expectedSHA256.lowercased() != digest {
                throw ArtifactStoreError.checksumMismatch(key)
            }
            if let limits = inspect {
                let key = self.key
                try await upload.inspectStaged { reader in
                    do {
                        try ArchiveInspector.inspect(reader, limits: limits)
                    } catch let rejection as ArchiveRejection {
                        throw ArtifactStoreError.archiveRejected(key, reason: rejection.reason, underlying: rejection)
                    }
                }
            }
            if abortRequested { throw ArtifactStoreError.ioFailure(key, underlying: UploadFinished()) }
            try await upload.commit()
            state = .finished
            return BlobInfo(size: received, sha256: digest)
        } catch {
            await discard()
            throw ArtifactStoreError.wrapping(error, key: key)
        }
    }

    /// Discards everything written (a client that disconnected, a failed submit). Idempotent.
    public func abort() async {
        if state == .busy {
            abortRequested = true
        } else {
            await discard()
        }
    }

    private func begin() throws {
        switch state {
        case .open:
            state = .busy
        case .busy:
            throw ArtifactStoreError.ioFailure(key, underlying: OverlappingWriterCalls())
        case .finished:
            throw ArtifactStoreError.ioFailure(key, underlying: UploadFinished())
        }
    }

    /// Writes `part` on the thread pool while hashing it here: the two run in parallel.
    private func flush(_ part: ByteBuffer) async throws {
        async let written: Void = upload.append(part)
        part.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        do {
            try await written
        } catch {
            await discard()
            throw ArtifactStoreError.wrapping(error, key: key)
        }
        if abortRequested {
            await discard()
            throw ArtifactStoreError.ioFailure(key, underlying: UploadFinished())
        }
    }

    private func discard() async {
        guard state != .finished else { return }
        state = .finished
        batch = ByteBufferAllocator().buffer(capacity: 0)
        await upload.abort()
    }
}

/// `write` or `commit` was called while another call on the same writer was still running.
struct OverlappingWriterCalls: Error {}
