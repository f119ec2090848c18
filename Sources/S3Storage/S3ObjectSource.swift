import ArtifactStore
import AsyncHTTPClient
import NIOCore

/// Reads one committed object for a download: one streaming GET of the range still wanted, sent with `If-Match`
/// so that a blob replaced mid-download fails the download instead of mixing two versions.
///
/// Sequential reads (what ``BlobContents`` does) share the one response; a read elsewhere starts a new GET.
actor S3ObjectSource: BlobByteSource {
    private let client: S3Client
    private let objectKey: String
    private let etag: String?
    /// One past the last byte any read will want (the object's size, or the end of the requested range).
    private let end: Int64
    private var stream: HTTPClientResponse.Body.AsyncIterator?
    private var position: Int64 = -1
    private var leftover = ByteBuffer()

    init(client: S3Client, objectKey: String, etag: String?, end: Int64) {
        self.client = client
        self.objectKey = objectKey
        self.etag = etag
        self.end = end
    }

    nonisolated func narrowed(to range: Range<Int64>) -> any BlobByteSource {
        S3ObjectSource(client: client, objectKey: objectKey, etag: etag, end: range.upperBound)
    }

    func read(at offset: Int64, length: Int) async throws -> ByteBuffer {
        guard offset < end, length > 0 else { return ByteBuffer() }
        if stream == nil || offset != position {
            stream = nil
            leftover = ByteBuffer()
            let response = try await client.getObject(objectKey, range: offset..<end, ifMatch: etag)
            stream = response.body.makeAsyncIterator()
            position = offset
        }
        if leftover.readableBytes == 0 {
            var iterator = stream!
            let next = try await iterator.next(isolation: self)
            stream = iterator
            guard let next else { return ByteBuffer() }
            leftover = next
        }
        let slice = leftover.readSlice(length: min(length, leftover.readableBytes))!
        position += Int64(slice.readableBytes)
        return slice
    }
}
