import ArtifactStore
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Reads one committed object for a download, in windows of ``windowSize`` bytes fetched whole by ranged GETs sent
/// with `If-Match` (so a blob replaced mid-download fails the download instead of mixing two versions), the next
/// window fetched while the current one is sent.
///
/// Whole windows, not one long GET: a GET held open at the pace of a slow client would meet the request deadline and
/// the idle-read timeout, while a window arrives at the bucket's speed. Memory per download is two windows.
actor S3ObjectSource: BlobByteSource {
    /// 4 MiB: 256 requests for 1 GiB, their latency hidden by the prefetch.
    static let windowSize: Int64 = 4 << 20

    private let client: S3Client
    private let objectKey: String
    private let etag: String?
    /// One past the last byte any read will want (the object's size, or the end of the requested range).
    private let end: Int64
    private var current: (start: Int64, bytes: ByteBuffer)?
    private var next: (start: Int64, task: Task<ByteBuffer, any Error>)?

    init(client: S3Client, objectKey: String, etag: String?, end: Int64) {
        self.client = client
        self.objectKey = objectKey
        self.etag = etag
        self.end = end
    }

    deinit {
        next?.task.cancel()
    }

    nonisolated func narrowed(to range: Range<Int64>) -> any BlobByteSource {
        S3ObjectSource(client: client, objectKey: objectKey, etag: etag, end: range.upperBound)
    }

    func read(at offset: Int64, length: Int) async throws -> ByteBuffer {
        guard offset < end, length > 0 else { return ByteBuffer() }
        if current.map({ offset < $0.start || offset >= $0.start + Int64($0.bytes.readableBytes) }) ?? true {
            let bytes: ByteBuffer
            if let next, next.start == offset {
                self.next = nil
                bytes = try await next.task.value
            } else {
                next?.task.cancel()
                next = nil
                bytes = try await Self.fetch(client, objectKey, etag, offset..<min(end, offset + Self.windowSize))
            }
            guard bytes.readableBytes > 0 else { return ByteBuffer() }
            current = (offset, bytes)
            let following = offset + Int64(bytes.readableBytes)
            if following < end {
                let range = following..<min(end, following + Self.windowSize)
                let (client, objectKey, etag) = (self.client, self.objectKey, self.etag)
                next = (following, Task { try await Self.fetch(client, objectKey, etag, range) })
            }
        }
        let (start, bytes) = current!
        let within = Int(offset - start)
        return bytes.getSlice(at: bytes.readerIndex + within, length: min(length, bytes.readableBytes - within))!
    }

    /// One window, read whole.
    private static func fetch(_ client: S3Client, _ key: String, _ etag: String?, _ range: Range<Int64>) async throws
        -> ByteBuffer
    {
        let response = try await client.getObject(key, range: range, ifMatch: etag)
        // A server that ignores Range answers 200 with the whole object: only right when that is what we asked.
        if response.status.code == 200, range.lowerBound > 0 {
            throw S3Error(code: .invalidResponse, operation: "GetObject", status: 200, s3Code: "RangeIgnored")
        }
        return try await response.body.collect(upTo: Int(range.count))
    }
}
