import NIOCore

/// The bytes of one blob, or one slice of it, as a sequence of `ByteBuffer`s of at most ``chunkSize`` bytes.
///
/// The blob was opened when the sequence was made, so a missing blob is reported before the first byte, and a
/// blob replaced or deleted meanwhile still streams the version that was opened. Reads are batched
/// (``ArtifactStore/Configuration/readBatchSize``) and cut into chunks, so a download costs one thread hop per batch.
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
    public struct Iterator: AsyncIteratorProtocol {
        let source: any BlobByteSource
        var offset: Int64
        let end: Int64
        let batchSize: Int
        var batch = ByteBuffer()

        public mutating func next() async throws -> ByteBuffer? {
            if batch.readableBytes == 0 {
                guard offset < end else { return nil }
                let length = Int(Swift.min(Int64(batchSize), end - offset))
                batch = try await source.read(at: offset, length: length)
                // A blob that shrank under us (it cannot: committed blobs are replaced, never rewritten) would
                // otherwise loop forever.
                guard batch.readableBytes > 0 else {
                    throw ArtifactStoreError.ioFailure(underlying: UnexpectedEndOfBlob())
                }
                offset += Int64(batch.readableBytes)
            }
            return batch.readSlice(length: Swift.min(BlobContents.chunkSize, batch.readableBytes))
        }
    }
}

/// The blob ended before the range the caller asked for.
struct UnexpectedEndOfBlob: Error {}
