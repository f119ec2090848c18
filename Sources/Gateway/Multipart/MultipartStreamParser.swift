import CSystemExtras
import NIOCore

/// A push parser for `multipart/form-data` bodies (RFC 7578, framing of RFC 2046 §5.1.1) that never holds more than
/// a part's header section and a delimiter's worth of bytes.
///
/// Body bytes are handed on as slices of the buffers fed in (no copy); the delimiter `CRLF--boundary` is found with
/// `memmem`, so the cost per byte of content is that of a vectorised search, not of a per-byte state machine. Only a
/// tail of a buffer that could be the start of a delimiter is held back until the next buffer tells.
///
/// What it accepts: an optional preamble, then parts `--boundary` [padding] CRLF headers CRLF CRLF body, each body
/// ending at `CRLF--boundary`, and the close `--boundary--` followed by an optional epilogue. Header lines must be
/// `token ":" value`; folded (obsolete) lines are refused. Preamble, padding, header section and epilogue are
/// bounded, so no input makes it buffer without limit.
struct MultipartStreamParser {
    /// What the parser found in the bytes fed so far, in order.
    enum Event {
        /// A part starts, with its header fields (names as sent; values trimmed).
        case partBegin(headers: [(name: String, value: String)])
        /// The next bytes of the current part's body.
        case body(ByteBuffer)
        /// The current part's body is complete.
        case partEnd
    }

    enum Failure: Error, Equatable {
        /// The bytes do not follow the framing above, or the body ended before the closing delimiter.
        case malformed
        /// A part's header section is longer than allowed.
        case headersTooLarge
    }

    private enum State {
        /// Before the first delimiter: bytes are discarded.
        case preamble
        /// Just after `--boundary`; see ``DelimiterEnd``.
        case delimiterEnd(DelimiterEnd)
        /// In a part's header section, up to the empty line.
        case headers
        /// In a part's body, up to the next delimiter.
        case body
        /// After the closing delimiter: bytes are discarded.
        case epilogue
    }

    private enum DelimiterEnd {
        case start
        /// One `-` seen: the second makes this the closing delimiter.
        case dash
        /// Linear white space ("transport padding") before the CRLF.
        case padding(Int)
        case carriageReturn
    }

    /// The most bytes of preamble, transport padding and epilogue accepted: real clients send none or a line.
    static let maxFramingBytes = 16 * 1024

    /// `CRLF--boundary`: the body of a part ends where this starts.
    private let delimiter: [UInt8]
    private let maxHeaderBytes: Int
    private var state = State.preamble
    /// The end of the buffer last fed that could be the start of a delimiter (a prefix of it, so it starts with CR).
    private var heldBack: [UInt8]
    /// The header section being collected, after a CRLF that stands for the delimiter line's own.
    private var headerSection: [UInt8] = []
    private var framingBytes = 0

    init(boundary: String, maxHeaderBytes: Int) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.maxHeaderBytes = maxHeaderBytes
        // The first delimiter may open the body without a CRLF before it: pretend the body started with one.
        heldBack = [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
    }

    /// Parses the next bytes of the body, calling `emit` for each event they complete.
    mutating func feed(_ buffer: ByteBuffer, _ emit: (Event) throws -> Void) throws {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            switch state {
            case .preamble, .body:
                try scanForDelimiter(&buffer, emit)
            case .delimiterEnd(let progress):
                let byte = buffer.readInteger(as: UInt8.self)!
                try delimiterEnd(progress, byte)
            case .headers:
                try collectHeaders(&buffer, emit)
            case .epilogue:
                try countFraming(buffer.readableBytes)
                buffer.moveReaderIndex(to: buffer.writerIndex)
            }
        }
    }

    /// Checks that the body ended where it may: after the closing delimiter.
    func finish() throws {
        guard case .epilogue = state else { throw Failure.malformed }
    }

    // MARK: - Delimiter search

    private mutating func scanForDelimiter(_ buffer: inout ByteBuffer, _ emit: (Event) throws -> Void) throws {
        if !heldBack.isEmpty, try resolveHeldBack(&buffer, emit) { return }
        let length = delimiter.count
        let found: Int? = buffer.withUnsafeReadableBytes { bytes in
            delimiter.withUnsafeBytes { needle in
                guard let base = bytes.baseAddress, bytes.count >= length,
                    let match = fac_memmem(base, bytes.count, needle.baseAddress!, length)
                else { return nil }
                return base.distance(to: UnsafeRawPointer(match))
            }
        }
        if let found {
            try content(buffer.readSlice(length: found)!, emit)
            buffer.moveReaderIndex(forwardBy: length)
            try delimiterFound(emit)
            return
        }
        // No whole delimiter: hold back the longest tail that could still become one.
        let tail = buffer.withUnsafeReadableBytes { longestDelimiterPrefixSuffix(of: $0) }
        try content(buffer.readSlice(length: buffer.readableBytes - tail)!, emit)
        heldBack = Array(buffer.readableBytesView)
        buffer.moveReaderIndex(to: buffer.writerIndex)
    }

    /// Decides the held-back bytes with the start of `buffer`. Returns `true` when it consumed `buffer`'s bytes up to
    /// a decision point itself (a delimiter that spans the two, or bytes still undecided).
    private mutating func resolveHeldBack(_ buffer: inout ByteBuffer, _ emit: (Event) throws -> Void) throws -> Bool {
        let length = delimiter.count
        // Enough of the buffer to complete any delimiter that starts in the held-back bytes.
        let taken = min(buffer.readableBytes, length - 1)
        let window = heldBack + buffer.readableBytesView.prefix(taken)
        for start in heldBack.indices {
            let compared = min(window.count - start, length)
            guard window[start..<(start + compared)].elementsEqual(delimiter[0..<compared]) else { continue }
            let before = ByteBuffer(bytes: heldBack[0..<start])
            if compared == length {
                buffer.moveReaderIndex(forwardBy: start + length - heldBack.count)
                heldBack = []
                try content(before, emit)
                try delimiterFound(emit)
            } else {
                // Still only a prefix, and the buffer is used up: keep waiting.
                buffer.moveReaderIndex(forwardBy: taken)
                heldBack = Array(window[start...])
                try content(before, emit)
            }
            return true
        }
        let before = ByteBuffer(bytes: heldBack)
        heldBack = []
        try content(before, emit)
        return false
    }

    /// The length of the longest end of `bytes` that is a proper prefix of the delimiter.
    private func longestDelimiterPrefixSuffix(of bytes: UnsafeRawBufferPointer) -> Int {
        let count = bytes.count
        var start = max(0, count - (delimiter.count - 1))
        while start < count {
            if bytes[start] == delimiter[0] {
                var index = start + 1
                while index < count, bytes[index] == delimiter[index - start] { index += 1 }
                if index == count { return count - start }
            }
            start += 1
        }
        return 0
    }

    private mutating func content(_ bytes: ByteBuffer, _ emit: (Event) throws -> Void) throws {
        guard bytes.readableBytes > 0 else { return }
        if case .body = state {
            try emit(.body(bytes))
        } else {
            try countFraming(bytes.readableBytes)
        }
    }

    private mutating func delimiterFound(_ emit: (Event) throws -> Void) throws {
        if case .body = state { try emit(.partEnd) }
        state = .delimiterEnd(.start)
    }

    private mutating func delimiterEnd(_ progress: DelimiterEnd, _ byte: UInt8) throws {
        let dash = UInt8(ascii: "-"), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let isBlank = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
        switch (progress, byte) {
        case (.start, dash):
            state = .delimiterEnd(.dash)
        case (.dash, dash):
            state = .epilogue
        case (.start, cr), (.padding, cr):
            state = .delimiterEnd(.carriageReturn)
        case (.start, _) where isBlank:
            state = .delimiterEnd(.padding(1))
        case (.padding(let count), _) where isBlank:
            guard count < Self.maxFramingBytes else { throw Failure.malformed }
            state = .delimiterEnd(.padding(count + 1))
        case (.carriageReturn, lf):
            state = .headers
            headerSection = [cr, lf]
        default:
            throw Failure.malformed
        }
    }

    private mutating func countFraming(_ count: Int) throws {
        framingBytes += count
        guard framingBytes <= Self.maxFramingBytes else { throw Failure.malformed }
    }

    // MARK: - Header section

    private mutating func collectHeaders(_ buffer: inout ByteBuffer, _ emit: (Event) throws -> Void) throws {
        // The section is "CRLF" (standing for the delimiter line's) + lines + "CRLF CRLF".
        let limit = maxHeaderBytes + 6
        let searchFrom = max(0, headerSection.count - 3)
        let previousCount = headerSection.count
        let taken = min(buffer.readableBytes, limit - previousCount)
        headerSection.append(contentsOf: buffer.readableBytesView.prefix(taken))
        guard let end = Self.emptyLine(in: headerSection, from: searchFrom) else {
            guard headerSection.count < limit else { throw Failure.headersTooLarge }
            buffer.moveReaderIndex(forwardBy: taken)
            return
        }
        buffer.moveReaderIndex(forwardBy: end + 4 - previousCount)
        let headers = try Self.parseHeaderLines(headerSection[min(2, end)..<end])
        headerSection = []
        state = .body
        try emit(.partBegin(headers: headers))
    }

    /// The index of the first `CRLF CRLF` in `bytes` at or after `start`.
    private static func emptyLine(in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }

    /// `Name: value` lines separated by CRLF.
    static func parseHeaderLines(_ section: ArraySlice<UInt8>) throws -> [(name: String, value: String)] {
        guard !section.isEmpty else { return [] }
        var headers: [(name: String, value: String)] = []
        var lineStart = section.startIndex
        while lineStart <= section.endIndex {
            var lineEnd = lineStart
            while lineEnd < section.endIndex, !(section[lineEnd] == 13 && lineEnd + 1 < section.endIndex && section[lineEnd + 1] == 10) {
                lineEnd += 1
            }
            let line = section[lineStart..<lineEnd]
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[line.startIndex..<colon].allSatisfy(isTokenByte)
            else { throw Failure.malformed }
            let value = line[(colon + 1)...].drop { $0 == 32 || $0 == 9 }
            let trimmed = value.reversed().drop { $0 == 32 || $0 == 9 }.reversed()
            headers.append((String(decoding: line[line.startIndex..<colon], as: UTF8.self), String(decoding: trimmed, as: UTF8.self)))
            lineStart = lineEnd + 2
            if lineEnd >= section.endIndex { break }
        }
        return headers
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return tokenPunctuation.contains(byte)
        }
    }

    private static let tokenPunctuation = Set("!#$%&'*+-.^_`|~".utf8)
}
