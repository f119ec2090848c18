import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import Gateway

/// Inputs found by the fuzz targets in `Fuzz/` (see Fuzz/README.md); each once crashed or broke a property.
@Suite struct FuzzRegressionTests {
    private struct Discard: MultipartConsumer {
        var names: [String] = []
        mutating func beginPart(name: String, filename: String?) async throws { names.append(name) }
        mutating func body(_ chunk: ByteBuffer) async throws {}
        mutating func endPart() async throws {}
    }

    private func read(_ body: [UInt8], boundary: String = "X-BOUNDARY") async throws -> [String] {
        var head = HTTPRequest(method: .post, scheme: "http", authority: "test", path: "/api/builds/submit")
        head.headerFields[.contentType] = "multipart/form-data; boundary=\(boundary)"
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: body)))
        var consumer = Discard()
        try await MultipartReader.read(request, into: &consumer)
        return consumer.names
    }

    /// Fuzz/Regressions/multipart/crash-8ad68eb6…: multipart-kit 4.7.1 indexed a 128-entry table with a part's
    /// header-name byte, so any byte >= 0x80 there trapped and took the process down. Now a 400.
    @Test func multipart_nonASCIIHeaderName_isRefusedNotACrash() async throws {
        for name in ["\u{E9}tag", "Content-Disposition\u{80}", "X\u{FF}"] {
            let body = Array("--X-BOUNDARY\r\n".utf8) + Array(name.utf8) + Array(": x\r\n\r\nvalue\r\n--X-BOUNDARY--\r\n".utf8)
            await #expect(throws: GatewayError.self) { try await read(body) }
        }
        // The same after a first, valid header line, and split across buffers by the guard's carry.
        let second = Array("--X-BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\u{E9}: x\r\n\r\nv\r\n--X-BOUNDARY--\r\n".utf8)
        await #expect(throws: GatewayError.self) { try await read(second) }
    }

    @Test func multipart_fuzzerCrashInput_isRefused() async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/Regressions/multipart/crash-8ad68eb6338547d31e363eea49a9643150ebee86")
        let input = try [UInt8](Data(contentsOf: url))
        let newline = input.firstIndex(of: UInt8(ascii: "\n"))!
        await #expect(throws: GatewayError.self) { try await read(Array(input[(newline + 1)...])) }
    }

    /// Fuzz/Regressions/multipart/crash-6f29759f…: `name=""\u{FFFD} filDouble""` came back as a name still wrapped
    /// in quotes (one pair stripped by hand). Values are now read as RFC 9110 quoted strings.
    @Test func contentDisposition_quotedStrings_areReadAsQuotedStrings() {
        #expect(MultipartReader.parseDisposition("form-data; name=\"\"\u{FFFD} filDouble\"\"; n").name == "")
        let parsed = MultipartReader.parseDisposition(#"form-data; name="a \"b\" \\ c"; filename="x;y.zip""#)
        #expect(parsed.name == #"a "b" \ c"#)
        #expect(parsed.filename == "x;y.zip")
        #expect(MultipartReader.parseDisposition("form-data; filename=plain.zip ; name = source").name == "source")
        #expect(MultipartReader.parseDisposition("form-data; filename=plain.zip ; name = source").filename == "plain.zip")
        // A quote followed by a combining mark is one Character in Swift, but still a quote.
        #expect(MultipartReader.parseDisposition("form-data; name=\"\u{301}x\"").name == "\u{301}x")
        #expect(MultipartReader.parseDisposition("form-data; flag; name=\"unterminated").name == "unterminated")
        #expect(MultipartReader.parseDisposition("no parameters at all").name == nil)
    }

    /// Non-ASCII where real clients put it, in a header *value* (a UTF-8 file name), is still accepted.
    @Test func multipart_nonASCIIFilename_isAccepted() async throws {
        let body = Array("--X-BOUNDARY\r\nContent-Disposition: form-data; name=\"source\"; filename=\"проект.zip\"\r\n\r\nPK\r\n--X-BOUNDARY--\r\n".utf8)
        #expect(try await read(body) == ["source"])
    }
}

@Suite struct MultipartHeaderLimitTests {
    @Test func anEndlessHeaderLine_isRefused_beforeItFillsMemory() async throws {
        try await GatewayFixture.run { f in
            let boundary = "b0undary"
            var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"source\"; x=\"".utf8)
            body += [UInt8](repeating: UInt8(ascii: "a"), count: 256 * 1024)
            var headers = GatewayFixture.key
            headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
            let response = try await f.request(.post, "/api/builds/submit", headers: headers, body: body)
            #expect(response.status == .badRequest)
            #expect(response.errorMessage == "Multipart part headers too large")
        }
    }
}
