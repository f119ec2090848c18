// Multipart bodies: MultipartReader.boundary (the Content-Type), MultipartStreamParser under the reader,
// MultipartReader.read and parseDisposition. Input: the Content-Type value, '\n', then the body.
// Properties: never crash; the parts the reader delivers (names, filenames, concatenated bytes) and whether it
// accepts the body are the same however the body is chunked (every split point of short bodies, byte by byte,
// and pseudo-random chunkings); no part holds more bytes than the body; the parser hands body bytes on as they
// arrive (a body callback never carries more than one chunk plus a held-back boundary prefix).
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
@testable import Gateway

struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffers: [ByteBuffer]
    struct AsyncIterator: AsyncIteratorProtocol {
        var index = 0
        let buffers: [ByteBuffer]
        mutating func next() async -> ByteBuffer? {
            guard index < buffers.count else { return nil }
            defer { index += 1 }
            return buffers[index]
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffers: buffers) }
}

struct Part: Equatable {
    var name: String
    var filename: String?
    var bytes: [UInt8] = []
}

struct Collector: MultipartConsumer {
    var parts: [Part] = []
    var open = false
    mutating func beginPart(name: String, filename: String?) async throws {
        check(!open, "a part began inside another")
        open = true
        parts.append(Part(name: name, filename: filename))
    }
    mutating func body(_ chunk: ByteBuffer) async throws {
        check(open, "body bytes outside a part")
        parts[parts.count - 1].bytes += chunk.readableBytesView
    }
    mutating func endPart() async throws {
        check(open, "a part ended that never began")
        open = false
    }
}

/// `nil` when the reader refused the body.
func read(contentType: String, chunks: [[UInt8]]) async -> [Part]? {
    var head = HTTPRequest(method: .post, scheme: "http", authority: "fuzz", path: "/api/builds/submit")
    head.headerFields[.contentType] = contentType
    let request = Request(head: head, body: RequestBody(asyncSequence: Chunks(buffers: chunks.map { ByteBuffer(bytes: $0) })))
    var collector = Collector()
    do {
        try await MultipartReader.read(request, into: &collector)
        check(!collector.open, "read returned with a part still open")
        return collector.parts
    } catch {
        return nil
    }
}

func split(_ body: [UInt8], at cuts: [Int]) -> [[UInt8]] {
    var chunks: [[UInt8]] = []
    var start = 0
    for cut in cuts.sorted() where cut > start && cut < body.count {
        chunks.append(Array(body[start..<cut]))
        start = cut
    }
    chunks.append(Array(body[start...]))
    return chunks
}

/// The parser alone, fed `chunks`: the concatenated body bytes per part, or nil when it refuses the body.
func parse(boundary: String, chunks: [[UInt8]]) -> [[UInt8]]? {
    var parser = MultipartStreamParser(boundary: boundary, maxHeaderBytes: MultipartReader.maxHeaderBytes)
    var parts: [[UInt8]] = []
    do {
        for chunk in chunks {
            try parser.feed(ByteBuffer(bytes: chunk)) { event in
                switch event {
                case .partBegin: parts.append([])
                case .body(let buffer):
                    // Streaming: one event never carries more than its chunk plus a held-back delimiter prefix.
                    check(buffer.readableBytes <= chunk.count + boundary.utf8.count + 4, "a body event of \(buffer.readableBytes) bytes from a \(chunk.count)-byte chunk")
                    check(!parts.isEmpty, "body bytes before any part")
                    parts[parts.count - 1] += buffer.readableBytesView
                case .partEnd: break
                }
            }
        }
        try parser.finish()
    } catch {
        return nil
    }
    return parts
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
        _ = MultipartReader.parseDisposition(String(decoding: bytes, as: UTF8.self))
        return 0
    }
    let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = Array(bytes[(newline + 1)...])
    _ = MultipartReader.parseDisposition(String(decoding: body.prefix(200), as: UTF8.self))
    // Any text, quoted and escaped as a client would, comes back exactly, beside a filename.
    let text = String(decoding: body.prefix(64), as: UTF8.self)
    let quoted = "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    let parsed = MultipartReader.parseDisposition("form-data; name=\(quoted); filename=\(quoted)")
    check(parsed.name == text && parsed.filename == text, "quoted name \(quoted.debugDescription) read as \(String(describing: parsed))")

    // The parser alone, split at every point of a short body: the same bytes per part every time.
    var head = HTTPRequest(method: .post, scheme: "http", authority: "fuzz", path: "/")
    head.headerFields[.contentType] = contentType
    guard let boundary = try? MultipartReader.boundary(of: Request(head: head, body: RequestBody(buffer: ByteBuffer()))) else {
        return 0
    }
    check((1...70).contains(boundary.utf8.count), "boundary of \(boundary.utf8.count) bytes accepted")
    let whole = parse(boundary: boundary, chunks: [body])
    if body.count <= 512 {
        for cut in 0...body.count {
            let chunked = parse(boundary: boundary, chunks: split(body, at: [cut]))
            check((chunked == nil) == (whole == nil) && (whole == nil || chunked == whole), "parser result depends on a split at \(cut)")
        }
    }

    // The reader, as the routes use it, under several chunkings.
    var random = SplitMix(state: fnv1a(bytes))
    var chunkings: [[[UInt8]]] = [[body], body.count <= 2048 ? body.map { [$0] } : split(body, at: Array(stride(from: 7, to: body.count, by: 7)))]
    for _ in 0..<4 {
        let cuts = (0..<Int(random.next() % 8)).map { _ in Int(random.next() % UInt64(body.count + 1)) }
        chunkings.append(split(body, at: cuts))
    }
    let results = runBlocking { [chunkings] in
        var results: [[Part]?] = []
        for chunks in chunkings { results.append(await read(contentType: contentType, chunks: chunks)) }
        return results
    }
    let reference = results[0]
    for (index, result) in results.enumerated() {
        check((result == nil) == (reference == nil), "reader accepts the body in one chunking and not another (\(index))")
        if let result, let reference { check(result == reference, "reader's parts depend on the chunking (\(index))") }
        if let result { check(result.reduce(0) { $0 + $1.bytes.count } <= body.count, "parts hold more bytes than the body") }
    }
    return 0
}
