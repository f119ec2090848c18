import ArtifactStore
import AsyncHTTPClient
import Dispatch
import NIOCore
import Synchronization

/// Blocking random access to a staged object, for archive inspection on a blocking-pool thread.
///
/// Reads go out as ranged GETs of whole blocks of ``blockSize`` bytes and the last block is kept, because libarchive
/// reads in small steps. Waiting on a semaphore is fine here: this runs on `NIOThreadPool`, never on an event loop.
final class S3StagedReader: StagedBlobReader, Sendable {
    /// 1 MiB: few requests for a sequential scan, little memory per inspection.
    static let blockSize: Int64 = 1 << 20

    let size: Int64
    private let client: S3Client
    private let objectKey: String
    private let cache = Mutex<(start: Int64, bytes: ByteBuffer)?>(nil)

    init(client: S3Client, objectKey: String, size: Int64) {
        self.client = client
        self.objectKey = objectKey
        self.size = size
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        guard offset >= 0, offset < size, buffer.count > 0 else { return 0 }
        let blockStart = offset - offset % Self.blockSize
        let block = try cache.withLock({ $0 }).flatMap { $0.start == blockStart ? $0.bytes : nil }
            ?? fetch(blockStart..<min(size, blockStart + Self.blockSize))
        cache.withLock { $0 = (blockStart, block) }
        let within = Int(offset - blockStart)
        let count = min(buffer.count, block.readableBytes - within)
        guard count > 0 else { return 0 }
        block.withUnsafeReadableBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + within, byteCount: count)
        }
        return count
    }

    /// One ranged GET, waited for on this (blocking-pool) thread.
    private func fetch(_ range: Range<Int64>) throws -> ByteBuffer {
        let result = Mutex<Result<ByteBuffer, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let client = self.client
        let objectKey = self.objectKey
        Task {
            let outcome: Result<ByteBuffer, any Error>
            do {
                let response = try await client.getObject(objectKey, range: range, ifMatch: nil)
                outcome = .success(try await response.body.collect(upTo: Int(range.count)))
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
