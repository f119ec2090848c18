import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore

/// Receives the parts of a multipart body as they stream in.
protocol MultipartConsumer {
    /// A part starts; `filename` is set for file parts.
    mutating func beginPart(name: String, filename: String?) async throws
    /// The next bytes of the current part, in arrival order.
    mutating func body(_ chunk: ByteBuffer) async throws
    /// The current part is complete.
    mutating func endPart() async throws
}

/// Feeds a request body through multipart-kit's push parser without buffering it: each buffer the server
/// receives is parsed, and its events are handed to the consumer (which may write them to disk) before the
/// next buffer is read, so memory stays at about one network buffer per upload.
enum MultipartReader {
    /// The most parts a form may have, and the most header bytes a part may have: a form of ours has a handful.
    static let maxParts = 64
    static let maxHeaderBytes = 16 * 1024

    /// The boundary of a `multipart/form-data` request, or 400 `Content must be multipart/form-data`.
    static func boundary(of request: Request) throws -> String {
        let notMultipart = GatewayError.badRequest("Content must be multipart/form-data")
        guard let contentType = request.headers[.contentType] else { throw notMultipart }
        let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parameters.first?.lowercased() == "multipart/form-data" else { throw notMultipart }
        for parameter in parameters.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count) else { throw notMultipart }
            return value
        }
        throw notMultipart
    }

    private enum Event {
        case header(String, String)
        case body(ByteBuffer)
        case partComplete
    }

    /// The parser's events for one network buffer, with consecutive body bytes gathered into one buffer.
    ///
    /// multipart-kit's parser hands a part's body over in pieces cut at every CR byte (it looks for the boundary
    /// there), plus a tiny buffer for each CR that is not one: about two pieces per 256 bytes of binary content.
    /// Passing each piece to the consumer is an `await` (for a file, a hop into the store's writer actor) per piece,
    /// millions for a 1 GiB upload; one memcpy into a buffer per network buffer is far cheaper.
    private final class EventQueue {
        var events: [Event] = []
        private var pending = ByteBuffer()
        /// The capacity to give a gathering buffer: the network buffer's size plus a boundary's worth of bytes
        /// the parser may re-emit from the previous buffer.
        var capacity = 0

        func body(_ piece: inout ByteBuffer) {
            guard piece.readableBytes > 0 else { return }
            if pending.readableBytes == 0 {
                // The first piece is kept as is (no copy): often it is the only one.
                pending = piece
            } else {
                if pending.capacity < capacity || pending.readerIndex != 0 {
                    var gathered = ByteBufferAllocator().buffer(capacity: Swift.max(capacity, pending.readableBytes + piece.readableBytes))
                    gathered.writeBuffer(&pending)
                    pending = gathered
                }
                pending.writeBuffer(&piece)
            }
        }

        func flushBody() {
            guard pending.readableBytes > 0 else { return }
            events.append(.body(pending))
            pending = ByteBuffer()
        }

        func append(_ event: Event) {
            flushBody()
            events.append(event)
        }
    }

    /// Reads the whole body into `consumer`. Throws 400 for a malformed or truncated body.
    static func read<Consumer: MultipartConsumer>(_ request: Request, into consumer: inout Consumer) async throws {
        let boundary = try boundary(of: request)
        let parser = MultipartParser(boundary: boundary)
        let queue = EventQueue()
        parser.onHeader = { name, value in queue.append(.header(name, value)) }
        parser.onBody = { buffer in queue.body(&buffer) }
        parser.onPartComplete = { queue.append(.partComplete) }

        var headers: [(String, String)] = []
        var headerBytes = 0
        var inPart = false
        var parts = 0
        var sawEnd = false
        var headerGuard = MultipartHeaderGuard(boundary: boundary)
        for try await buffer in request.body {
            guard headerGuard.accepts(buffer) else { throw GatewayError.badRequest("Malformed multipart body") }
            queue.capacity = buffer.readableBytes + boundary.utf8.count + 8
            do {
                try parser.execute(buffer)
            } catch {
                throw GatewayError.badRequest("Malformed multipart body")
            }
            queue.flushBody()
            let events = queue.events
            queue.events.removeAll(keepingCapacity: true)
            for event in events {
                switch event {
                case .header(let name, let value):
                    headerBytes += name.utf8.count + value.utf8.count
                    guard headerBytes <= maxHeaderBytes else { throw GatewayError.badRequest("Multipart part headers too large") }
                    headers.append((name.lowercased(), value))
                case .body(let chunk):
                    if !inPart {
                        try await begin(&consumer, headers: headers, parts: &parts)
                        inPart = true
                    }
                    if chunk.readableBytes > 0 { try await consumer.body(chunk) }
                case .partComplete:
                    if !inPart { try await begin(&consumer, headers: headers, parts: &parts) }
                    try await consumer.endPart()
                    inPart = false
                    headers.removeAll()
                    headerBytes = 0
                    sawEnd = true
                }
            }
        }
        // A body that stops inside a part (or has no part at all) is truncated.
        guard sawEnd, !inPart else { throw GatewayError.badRequest("Malformed multipart body") }
    }

    private static func begin<Consumer: MultipartConsumer>(
        _ consumer: inout Consumer, headers: [(String, String)], parts: inout Int
    ) async throws {
        parts += 1
        guard parts <= maxParts else { throw GatewayError.badRequest("Too many multipart parts") }
        let disposition = headers.first { $0.0 == "content-disposition" }?.1 ?? ""
        let (name, filename) = parseDisposition(disposition)
        guard let name else { throw GatewayError.badRequest("Malformed multipart body") }
        try await consumer.beginPart(name: name, filename: filename)
    }

    /// `form-data; name="source"; filename="project.tar.gz"` → ("source", "project.tar.gz").
    static func parseDisposition(_ value: String) -> (name: String?, filename: String?) {
        var name: String?
        var filename: String?
        for parameter in value.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let key = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
            var text = pair[1].trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
            if key == "name" { name = text } else if key == "filename" { filename = text }
        }
        return (name, filename)
    }
}

/// A small text field of a form, bounded so a huge "text" part cannot fill memory.
struct FormFieldBuffer {
    static let maxBytes = 64 * 1024
    private(set) var bytes = ByteBuffer()

    mutating func append(_ chunk: ByteBuffer) throws {
        guard bytes.readableBytes + chunk.readableBytes <= Self.maxBytes else {
            throw GatewayError.payloadTooLarge("Form field too large")
        }
        var chunk = chunk
        bytes.writeBuffer(&chunk)
    }

    var text: String { String(buffer: bytes) }
}
