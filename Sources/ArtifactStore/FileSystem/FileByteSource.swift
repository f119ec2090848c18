import NIOCore
import NIOPosix

/// Positional reads (`pread`) of one open blob on the thread pool. Positional reads share no file offset, so one
/// open descriptor can serve any number of iterations of the same ``BlobContents``.
struct FileByteSource: BlobByteSource {
    let descriptor: OwnedDescriptor
    let threadPool: NIOThreadPool
    let key: BlobKey

    func read(at offset: Int64, length: Int) async throws -> ByteBuffer {
        let descriptor = self.descriptor
        do {
            return try await threadPool.runIfActive {
                var buffer = ByteBufferAllocator().buffer(capacity: length)
                try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
                    try SystemCall.readFully(
                        descriptor.fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<length]), at: offset)
                }
                return buffer
            }
        } catch {
            throw ArtifactStoreError.wrapping(error, key: key)
        }
    }
}
