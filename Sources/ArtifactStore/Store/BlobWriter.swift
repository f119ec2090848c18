import Crypto
import NIOCore
import NIOPosix

/// A streaming write of one blob: counts, hashes and stages the bytes, and makes them visible only on
/// ``commit(expectedSHA256:inspect:)``.
///
/// Chunks are gathered, without a copy, into batches of about ``ArtifactStore/Configuration/writeBatchSize`` bytes;
/// each batch is written with one call on the thread pool, and hashed meanwhile on Swift's pool, while the next one
/// fills: neither the hash nor the disk holds up reading the network (at most two batches are held).
/// Calls must not overlap: await each `write` before the next (``abort()`` is the exception: it may come at any time).
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
    /// Where batches are hashed: CPU work that must not hold an event loop (`serve` runs Swift concurrency on them).
    private let threadPool: NIOThreadPool
    private var batch: [ByteBuffer] = []
    private var batchBytes = 0
    /// The hashing and write of the previous batch, if they may still be running.
    private var inFlight: Task<Void, any Error>?
    /// The hash of every batch handed on, once ``inFlight`` has been awaited.
    private let hash = RunningHash()
    private var received: Int64 = 0
    private var state = State.open
    /// `abort()` came while a call was running: that call discards the upload when it resumes, because closing
    /// the file under a write in flight could hand its descriptor number to someone else's file.
    private var abortRequested = false

    init(key: BlobKey, limit: Int64, upload: any BlobUpload, batchSize: Int, threadPool: NIOThreadPool) {
        self.key = key
        self.limit = limit
        self.upload = upload
        self.batchSize = batchSize
        self.threadPool = threadPool
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
        guard chunk.readableBytes > 0 else {
            state = .open
            return
        }
        batch.append(chunk)
        batchBytes += chunk.readableBytes
        if batchBytes >= batchSize { try await startWritingBatch() }
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
            if batchBytes > 0 { try await startWritingBatch() }
            try await finishWriteInFlight()
            let digest = hash.sha256.finalize().map { String($0, radix: 16).leftPadded(to: 2) }.joined()
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

    /// Hands the batch on once the previous one is hashed and written (hashes and writes stay in order). The batch
    /// is hashed on one thread-pool thread while the backend writes it (on another, or to the network).
    private func startWritingBatch() async throws {
        try await finishWriteInFlight()
        let (parts, upload, hash, threadPool) = (batch, self.upload, self.hash, self.threadPool)
        batch = []
        batchBytes = 0
        inFlight = Task.detached {
            async let written: Void = upload.append(parts)
            try await threadPool.runIfActive {
                for part in parts { part.withUnsafeReadableBytes { hash.sha256.update(bufferPointer: $0) } }
            }
            try await written
        }
    }

    /// Waits for the write in flight; on its failure, or an abort that came meanwhile, discards the upload.
    private func finishWriteInFlight() async throws {
        guard let write = inFlight else { return }
        inFlight = nil
        do {
            try await write.value
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
        batch = []
        // The file must stay open until the write in flight returns: see `abortRequested`.
        if let write = inFlight {
            inFlight = nil
            _ = try? await write.value
        }
        await upload.abort()
    }
}

/// The SHA-256 of the batches handed on. Only one party uses it at a time: the job of the batch in flight, or the
/// writer once it has awaited that job (jobs run one after another), hence the unchecked `Sendable`.
private final class RunningHash: @unchecked Sendable {
    var sha256 = SHA256()
}

/// `write` or `commit` was called while another call on the same writer was still running.
struct OverlappingWriterCalls: Error {}
