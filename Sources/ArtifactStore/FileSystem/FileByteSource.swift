import NIOCore
import NIOPosix

/// Positional reads (`pread`) of one open blob on the thread pool. Positional reads share no file offset, so one
/// open descriptor can serve any number of iterations of the same ``BlobContents``.
struct FileByteSource: BlobByteSource {
    let descriptor: OwnedDescriptor
    let threadPool: NIOThreadPool
    let key: BlobKey

    func read(at offset: Int64, length: Int) async throws -> ByteBuffer {
        try await read(at: offset, length: length, reusing: ByteBuffer())
    }

    /// Reuses `spare`'s memory when the bytes handed out from it have all been sent: a fresh 512 KiB batch per read
    /// was new pages to fault in and zero every time (a tenth of a download's CPU in its profile).
    func read(at offset: Int64, length: Int, reusing spare: consuming ByteBuffer) async throws -> ByteBuffer {
        let descriptor = self.descriptor
        // Correct however it goes: `clear` gives new storage whenever anyone else (a slice still queued on a
        // socket) holds the old one, so bytes handed out are never overwritten.
        let spare = HandOver(spare)
        do {
            return try await threadPool.runIfActive {
                var buffer = spare.take() ?? ByteBuffer()
                buffer.clear(minimumCapacity: length)
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
