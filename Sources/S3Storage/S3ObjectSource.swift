import ArtifactStore
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Reads one committed object for a download: ranged GETs of up to ``S3Configuration/downloadWindowSize`` bytes
/// whose bodies are streamed
/// at the client's pace (backpressure: memory stays small), one after another, each sent with `If-Match` so that a
/// blob replaced mid-download fails the download instead of mixing two versions.
///
/// Windows, not one GET of the whole object: a GET read at a slow client's pace must finish within its deadline
/// (``windowDeadline``); a window of 64 MiB (the default) does at 20 KB/s. Sequential reads (what ``BlobContents`` does) share
/// the open window; a read elsewhere starts a new one.
actor S3ObjectSource: BlobByteSource {
    /// How long one window may take to read, at the client's pace.
    static let windowDeadline: Duration = .seconds(3600)

    private let client: S3Client
    private let objectKey: String
    private let etag: String?
    /// One past the last byte any read will want (the object's size, or the end of the requested range).
    private let end: Int64
    private var stream: HTTPClientResponse.Body.AsyncIterator?
    /// The next byte the open window yields, and one past its last.
    private var position: Int64 = -1
    private var windowEnd: Int64 = -1
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
        if stream == nil || offset != position || position >= windowEnd {
            stream = nil
            leftover = ByteBuffer()
            let range = offset..<min(end, offset + Int64(client.configuration.downloadWindowSize))
            let response = try await client.getObject(
                objectKey, range: range, ifMatch: etag, timeout: Self.windowDeadline)
            // A server that ignores Range answers 200 with the whole object: only right when that is what we asked.
            if response.status.code == 200, offset > 0 {
                throw S3Error(code: .invalidResponse, operation: "GetObject", status: 200, s3Code: "RangeIgnored")
            }
            stream = response.body.makeAsyncIterator()
            position = offset
            windowEnd = range.upperBound
        }
        while leftover.readableBytes == 0 {
            var iterator = stream!
            let next = try await iterator.next(isolation: self)
            stream = iterator
            guard let next else {
                // The window ended early: the object is shorter than its HEAD said.
                throw S3Error(code: .invalidResponse, operation: "GetObject", s3Code: "ShortBody")
            }
            leftover = next
        }
        let slice = leftover.readSlice(length: min(length, leftover.readableBytes, Int(windowEnd - position)))!
        position += Int64(slice.readableBytes)
        return slice
    }
}
