import Foundation
import NIOCore
import Testing

@testable import Gateway

/// The streaming parser must find exactly the parts a whole-body parser finds, wherever the network cuts the body.
@Suite struct MultipartStreamParserTests {
    struct Part: Equatable, CustomStringConvertible {
        var headers: [String]
        var body: [UInt8]
        var description: String { "\(headers) \(body.count) bytes" }
    }

    enum Outcome: Equatable {
        case parts([Part])
        case refused(MultipartStreamParser.Failure)
    }

    static let boundary = "----fac-Bndry7"

    /// Feeds `body` cut at `cuts` and collects the parts; checks the event order along the way.
    static func stream(_ body: [UInt8], cuts: [Int], maxHeaderBytes: Int = 1024) -> Outcome {
        var parser = MultipartStreamParser(boundary: boundary, maxHeaderBytes: maxHeaderBytes)
        var parts: [Part] = []
        var open = false
        var start = 0
        do {
            for end in (cuts.filter { $0 > 0 && $0 < body.count }.sorted() + [body.count]) where end > start {
                let chunk = body[start..<end]
                try parser.feed(ByteBuffer(bytes: chunk)) { event in
                    switch event {
                    case .partBegin(let headers):
                        #expect(!open, "a part began inside another")
                        open = true
                        parts.append(Part(headers: headers.map { "\($0.name)=\($0.value)" }, body: []))
                    case .body(let bytes):
                        #expect(open, "body bytes outside a part")
                        // Streaming: never more than this chunk plus a held-back delimiter prefix.
                        #expect(bytes.readableBytes <= chunk.count + boundary.utf8.count + 4)
                        parts[parts.count - 1].body += bytes.readableBytesView
                    case .partEnd:
                        #expect(open, "a part ended that never began")
                        open = false
                    }
                }
                start = end
            }
            try parser.finish()
        } catch let failure as MultipartStreamParser.Failure {
            return .refused(failure)
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return .parts(parts)
    }

    /// An independent whole-body reading of the same grammar, with plain array searches.
    static func reference(_ body: [UInt8], maxHeaderBytes: Int = 1024) -> Outcome {
        let delimiter = Array("\r\n--\(boundary)".utf8)
        let bytes = Array("\r\n".utf8) + body
        guard let first = bytes.firstRange(of: delimiter), first.lowerBound <= MultipartStreamParser.maxFramingBytes else {
            return .refused(.malformed)
        }
        var position = first.upperBound
        var parts: [Part] = []
        while true {
            if bytes[position...].starts(with: Array("--".utf8)) {
                let epilogue = bytes.count - position - 2
                return epilogue + first.lowerBound <= MultipartStreamParser.maxFramingBytes ? .parts(parts) : .refused(.malformed)
            }
            while position < bytes.count, bytes[position] == 32 || bytes[position] == 9 { position += 1 }
            guard bytes[position...].starts(with: Array("\r\n".utf8)) else { return .refused(.malformed) }
            let section = Array("\r\n".utf8) + bytes[(position + 2)...]
            guard let end = section.firstRange(of: Array("\r\n\r\n".utf8))?.lowerBound else {
                return .refused(section.count >= maxHeaderBytes + 6 ? .headersTooLarge : .malformed)
            }
            guard end + 4 <= maxHeaderBytes + 6 else { return .refused(.headersTooLarge) }
            var headers: [String] = []
            if end > 2 {
                for line in section[2..<end].split(separator: Array("\r\n".utf8), omittingEmptySubsequences: false) {
                    guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                        line[..<colon].allSatisfy({ $0 < 0x7F && $0 > 32 && !Array("\"(),/:;<=>?@[\\]{}".utf8).contains($0) })
                    else { return .refused(.malformed) }
                    let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: [" ", "\t"])
                    headers.append("\(String(decoding: line[..<colon], as: UTF8.self))=\(value)")
                }
            }
            let bodyStart = position + end + 4
            guard let next = bytes[bodyStart...].firstRange(of: delimiter) else { return .refused(.malformed) }
            parts.append(Part(headers: headers, body: Array(bytes[bodyStart..<next.lowerBound])))
            position = next.upperBound
        }
    }

    static func form(_ parts: [(String, [UInt8])], preamble: String = "", epilogue: String = "\r\n") -> [UInt8] {
        var body = Array(preamble.utf8)
        for (name, content) in parts {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n".utf8) + content + Array("\r\n".utf8)
        }
        return body + Array("--\(boundary)--\(epilogue)".utf8)
    }

    @Test func aFormFromCurl_givesItsPartsWhateverTheCuts() {
        let content = Array("hello\r\n-- not a delimiter \r\n--\(Self.boundary.dropLast())X nor this".utf8)
        let body = Self.form([("platform", Array("ios".utf8)), ("source", [0x0D, 0x0A, 0x2D] + content + [0x0D])])
        guard case .parts(let parts) = Self.stream(body, cuts: []) else {
            Issue.record("refused a valid form")
            return
        }
        #expect(parts.map(\.headers) == [["Content-Disposition=form-data; name=\"platform\""], ["Content-Disposition=form-data; name=\"source\""]])
        #expect(parts[1].body == [0x0D, 0x0A, 0x2D] + content + [0x0D])
        // Every single cut, and byte by byte.
        for cut in 0...body.count {
            #expect(Self.stream(body, cuts: [cut]) == .parts(parts), "cut at \(cut)")
        }
        #expect(Self.stream(body, cuts: Array(0...body.count)) == .parts(parts))
    }

    @Test func contentThatAlmostHoldsTheDelimiter_isKeptWhole() {
        // Every proper prefix of the delimiter, at the end of a part and at every cut.
        let delimiter = Array("\r\n--\(Self.boundary)".utf8)
        for length in 1..<delimiter.count {
            let content = Array("abc".utf8) + delimiter[0..<length]
            let body = Self.form([("result", content)])
            for cut in 0...body.count {
                #expect(Self.stream(body, cuts: [cut, cut + length]) == .parts([Part(
                    headers: ["Content-Disposition=form-data; name=\"result\""], body: content)]), "prefix \(length), cut \(cut)")
            }
        }
    }

    @Test func framing_preamblePaddingNoHeadersAndEpilogue() {
        let body = Array("preamble line\r\n--\(Self.boundary) \t\r\n\r\nno headers\r\n--\(Self.boundary)--\r\nepilogue".utf8)
        #expect(Self.stream(body, cuts: [17]) == .parts([Part(headers: [], body: Array("no headers".utf8))]))
        #expect(Self.reference(body) == Self.stream(body, cuts: [3, 40]))
    }

    @Test func malformedBodies_areRefused() {
        let b = Self.boundary
        let cases: [String] = [
            "",  // nothing at all
            "--\(b)\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",  // no closing delimiter
            "--\(b)\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--\(b)",  // ends right after a delimiter
            "--\(b)x\r\n\r\nv\r\n--\(b)--",  // a longer boundary
            "--\(b)\r\nNo colon here\r\n\r\nv\r\n--\(b)--",
            "--\(b)\r\nA: b\r\n folded: continuation\r\n\r\nv\r\n--\(b)--",
            "--\(b)\r\n: empty name\r\n\r\nv\r\n--\(b)--",
            "--\(b)\r\n\u{E9}tag: x\r\n\r\nv\r\n--\(b)--",  // non-ASCII header name (crashed multipart-kit)
            "--\(b)\r\nA: b\r\n\r\nv\r\n--\(b)-",  // half a close
            "--\(b)\r\nA: b\r\n",  // headers never end
        ]
        for text in cases {
            let body = Array(text.utf8)
            #expect(Self.stream(body, cuts: []) == .refused(.malformed), "\(text.debugDescription)")
            #expect(Self.stream(body, cuts: Array(0...body.count)) == .refused(.malformed), "byte by byte: \(text.debugDescription)")
        }
    }

    @Test func hugeHeaderSectionsAndFraming_areBounded() {
        let longHeader = "--\(Self.boundary)\r\nX: " + String(repeating: "a", count: 5000)
        #expect(Self.stream(Array(longHeader.utf8), cuts: [100, 2000]) == .refused(.headersTooLarge))
        let endlessPreamble = Array(repeating: UInt8(ascii: "p"), count: MultipartStreamParser.maxFramingBytes + 1)
        #expect(Self.stream(endlessPreamble, cuts: [4096]) == .refused(.malformed))
        let endlessEpilogue = Self.form([("a", [1])], epilogue: String(repeating: "e", count: MultipartStreamParser.maxFramingBytes + 1))
        #expect(Self.stream(endlessEpilogue, cuts: []) == .refused(.malformed))
    }

    /// Random forms with hostile content (CRs, dashes, delimiter prefixes), random cuts: stream == whole-body reading.
    @Test func randomBodiesAndCuts_matchTheWholeBodyReading() {
        var random = SplitMix64(seed: 0x5EED)
        let alphabet = Array("\r\n-\(Self.boundary)a:b ".utf8)
        for round in 0..<2000 {
            var body: [UInt8]
            if round % 3 == 0 {
                // Pure noise over the grammar's own bytes.
                body = (0..<Int(random.next() % 200)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
                body = Array("--\(Self.boundary)\r\n".utf8) + body
            } else {
                let parts = (0..<Int(random.next() % 4)).map { index -> (String, [UInt8]) in
                    let content = (0..<Int(random.next() % 120)).map { _ in
                        random.next() % 4 == 0 ? alphabet[Int(random.next() % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: random.next())
                    }
                    return ("p\(index)", content)
                }
                body = Self.form(parts)
                if round % 5 == 0, !body.isEmpty { body.removeLast(Int(random.next() % UInt64(min(body.count, 30)))) }
            }
            let expected = Self.reference(body)
            let cuts = (0..<Int(random.next() % 6)).map { _ in Int(random.next() % UInt64(body.count + 1)) }
            let got = Self.stream(body, cuts: cuts)
            #expect(got == expected, "round \(round): \(String(decoding: body, as: UTF8.self).debugDescription) cuts \(cuts)")
            if got != expected { return }
        }
    }
}

/// A small deterministic generator, so a failure replays.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
