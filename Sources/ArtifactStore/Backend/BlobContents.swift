import NIOCore

/// The bytes of one blob, or one slice of it, as a sequence of `ByteBuffer`s of at most ``chunkSize`` bytes.
///
/// The blob was opened when the sequence was made, so a missing blob is reported before the first byte, and a
/// blob replaced or deleted meanwhile still streams the version that was opened. Reads are batched
/// (``ArtifactStore/Configuration/readBatchSize``) and cut into chunks, so a download costs one thread hop per batch.
/// The next batch is read while the current one is consumed (one read ahead), so the disk and the network work at
/// the same time; ``Iterator/nextBatch()`` hands on a whole batch at once, for writers that take big buffers. A
/// later read reuses the memory of a batch handed out two batches before, once nothing holds its bytes any more
/// (``BlobByteSource/read(at:length:reusing:)``), so a long download does not fault in fresh pages for every batch.
public struct BlobContents: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    /// The largest chunk yielded: 64 KiB, the size HTTP servers write comfortably.
    public static let chunkSize = 64 * 1024

    let source: any BlobByteSource
    let range: Range<Int64>
    let batchSize: Int

    /// Streams `range` of `source`, reading `batchSize` bytes per call to the source.
    public init(source: any BlobByteSource, range: Range<Int64>, batchSize: Int) {
        self.source = source
        self.range = range
        self.batchSize = Swift.max(batchSize, Self.chunkSize)
    }

    /// The number of bytes the sequence yields.
    public var count: Int64 { range.upperBound - range.lowerBound }

    public func makeAsyncIterator() -> Iterator {
        Iterator(source: source, offset: range.lowerBound, end: range.upperBound, batchSize: batchSize)
    }

    /// Reads a batch, then yields it in slices of ``BlobContents/chunkSize`` (slicing shares the batch's storage).
    ///
    /// Once a batch has arrived, the read of the next one starts (on the source's threads) before the first byte of
    /// this one is handed on. An iterator dropped half-way leaves at most that one read to finish on its own.
    public struct Iterator: AsyncIteratorProtocol {
        let source: any BlobByteSource
        /// Where the next read starts (the read ahead, if any, covers from here).
        var offset: Int64
        let end: Int64
        let batchSize: Int
        var batch = ByteBuffer()
        /// Batches already handed out, newest last, at most two. A read started when there are two reuses the older
        /// one's memory if nothing holds it any more: by then its bytes have had a whole batch's time to reach the
        /// socket, while the newer one was most likely handed to a write just now.
        var handedOut: [ByteBuffer] = []
        /// The read of the batch at `offset`, started ahead.
        var readAhead: Task<ByteBuffer, any Error>?

        init(source: any BlobByteSource, offset: Int64, end: Int64, batchSize: Int) {
            self.source = source
            self.offset = offset
            self.end = end
            self.batchSize = batchSize
        }

        public mutating func next() async throws -> ByteBuffer? {
            guard try await fill() else { return nil }
            return batch.readSlice(length: Swift.min(BlobContents.chunkSize, batch.readableBytes))
        }

        /// What is left of the current batch, or the next whole batch (at most the batch size), as one buffer; `nil`
        /// at the end. May be mixed with ``next()``.
        public mutating func nextBatch() async throws -> ByteBuffer? {
            guard try await fill() else { return nil }
            let whole = batch
            batch.moveReaderIndex(forwardBy: batch.readableBytes)
            return whole
        }

        /// Makes `batch` non-empty unless the range is done; starts the read of the batch after it.
        private mutating func fill() async throws -> Bool {
            guard batch.readableBytes == 0 else { return true }
            guard offset < end else { return false }
            if batch.capacity > 0 { handedOut.append(batch) }
            batch = ByteBuffer()
            let pending = readAhead ?? startRead()
            readAhead = nil
            let read = try await pending.value
            // A blob that shrank under us (it cannot: committed blobs are replaced, never rewritten) would
            // otherwise loop forever.
            guard read.readableBytes > 0 else {
                throw ArtifactStoreError.ioFailure(underlying: UnexpectedEndOfBlob())
            }
            offset += Int64(read.readableBytes)
            batch = read
            if offset < end { readAhead = startRead() }
            return true
        }

        private mutating func startRead() -> Task<ByteBuffer, any Error> {
            let (source, offset, length) = (self.source, self.offset, Int(Swift.min(Int64(batchSize), end - offset)))
            let spare = HandOver(handedOut.count == 2 ? handedOut.removeFirst() : ByteBuffer())
            return Task { try await source.read(at: offset, length: length, reusing: spare.take() ?? ByteBuffer()) }
        }
    }
}

/// The blob ended before the range the caller asked for.
struct UnexpectedEndOfBlob: Error {}
