import NIOCore

/// Buffers sent one after another as one request body, without copying them into one: a part of a multipart
/// upload is the batches the store handed over, as they are. Replayable, so an idempotent request can be retried.
struct ByteBufferList: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let buffers: [ByteBuffer]

    /// The bytes of all buffers.
    var count: Int { buffers.reduce(0) { $0 + $1.readableBytes } }

    func makeAsyncIterator() -> Iterator { Iterator(buffers: buffers) }

    struct Iterator: AsyncIteratorProtocol {
        var buffers: [ByteBuffer]
        var index = 0

        mutating func next() async -> ByteBuffer? {
            guard index < buffers.count else { return nil }
            defer { index += 1 }
            return buffers[index]
        }
    }
}
