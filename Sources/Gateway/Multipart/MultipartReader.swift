import Foundation
import HTTPTypes
import Hummingbird
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

/// Feeds a request body through ``MultipartStreamParser`` without buffering it: each buffer the server receives is
/// parsed, and its events are handed to the consumer (which may write them to disk) before the next buffer is read,
/// so memory stays at about one network buffer per upload.
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

    /// Reads the whole body into `consumer`. Throws 400 for a malformed or truncated body.
    static func read<Consumer: MultipartConsumer>(_ request: Request, into consumer: inout Consumer) async throws {
        var parser = MultipartStreamParser(boundary: try boundary(of: request), maxHeaderBytes: maxHeaderBytes)
        var events: [MultipartStreamParser.Event] = []
        var parts = 0
        for try await buffer in request.body {
            do {
                try parser.feed(buffer) { events.append($0) }
            } catch MultipartStreamParser.Failure.headersTooLarge {
                throw GatewayError.badRequest("Multipart part headers too large")
            } catch {
                throw GatewayError.badRequest("Malformed multipart body")
            }
            // The events are handed on after the buffer is parsed (the parser's callback cannot await); they hold at
            // most this buffer's bytes, as slices of it.
            for event in events {
                switch event {
                case .partBegin(let headers):
                    parts += 1
                    guard parts <= maxParts else { throw GatewayError.badRequest("Too many multipart parts") }
                    try await begin(&consumer, headers: headers)
                case .body(let chunk):
                    try await consumer.body(chunk)
                case .partEnd:
                    try await consumer.endPart()
                }
            }
            events.removeAll(keepingCapacity: true)
        }
        // A body that stops inside a part (or before the closing delimiter) is truncated.
        do {
            try parser.finish()
        } catch {
            throw GatewayError.badRequest("Malformed multipart body")
        }
    }

    private static func begin<Consumer: MultipartConsumer>(
        _ consumer: inout Consumer, headers: [(name: String, value: String)]
    ) async throws {
        let disposition = headers.first { $0.name.lowercased() == "content-disposition" }?.value ?? ""
        let (name, filename) = parseDisposition(disposition)
        guard let name else { throw GatewayError.badRequest("Malformed multipart body") }
        try await consumer.beginPart(name: name, filename: filename)
    }

    /// `form-data; name="source"; filename="project.tar.gz"` → ("source", "project.tar.gz").
    ///
    /// Parameter values are tokens or quoted strings (RFC 9110 §5.6.4: a backslash escapes the next character, so
    /// `filename="a \"b\".zip"` is `a "b".zip` and `filename="x;y.zip"` keeps its `;`). Whatever follows a
    /// quoted string up to the next `;` is ignored; an unterminated quoted string runs to the end.
    ///
    /// It works on UTF-8 bytes, not characters: a quote followed by a combining mark is still a quote.
    static func parseDisposition(_ value: String) -> (name: String?, filename: String?) {
        let semicolon = UInt8(ascii: ";"), equals = UInt8(ascii: "="), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let bytes = Array(value.utf8)
        var name: String?
        var filename: String?
        guard var index = bytes.firstIndex(of: semicolon).map({ $0 + 1 }) else { return (nil, nil) }
        while index < bytes.count {
            while index < bytes.count, blank(bytes[index]) { index += 1 }
            var keyEnd = index
            while keyEnd < bytes.count, bytes[keyEnd] != equals, bytes[keyEnd] != semicolon { keyEnd += 1 }
            guard keyEnd < bytes.count, bytes[keyEnd] == equals else {
                index = keyEnd + 1  // a parameter without a value: skip it
                continue
            }
            var key = bytes[index..<keyEnd]
            while let last = key.last, blank(last) { key = key.dropLast() }
            index = keyEnd + 1
            while index < bytes.count, blank(bytes[index]) { index += 1 }
            var text: [UInt8] = []
            if index < bytes.count, bytes[index] == quote {
                index += 1
                while index < bytes.count, bytes[index] != quote {
                    if bytes[index] == backslash, index + 1 < bytes.count { index += 1 }
                    text.append(bytes[index])
                    index += 1
                }
                // Past the closing quote, then whatever is left of this parameter.
                while index < bytes.count, bytes[index] != semicolon { index += 1 }
            } else {
                while index < bytes.count, bytes[index] != semicolon {
                    text.append(bytes[index])
                    index += 1
                }
                while let last = text.last, blank(last) { text.removeLast() }
            }
            index += 1
            switch String(decoding: key, as: UTF8.self).lowercased() {
            case "name": name = String(decoding: text, as: UTF8.self)
            case "filename": filename = String(decoding: text, as: UTF8.self)
            default: break
            }
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
