import NIOCore

/// Keeps bytes that would crash multipart-kit away from its parser.
///
/// multipart-kit 4.7.1's `MultipartParser` looks every byte of a part's header *name* up in a 128-entry table, so a
/// byte of 0x80 or more there traps (index out of range) and takes the whole process down, whoever sent it. Found by
/// `Fuzz/Targets/multipart`; the regression test is `Tests/GatewayTests/FuzzRegressionTests.swift`.
///
/// The parser starts a header name only after `--<boundary>` CRLF or after the CRLF that ends a header line. This
/// guard follows the bytes with a coarser rule that covers both: after *any* `--<boundary>` CRLF it reads header
/// lines until an empty line, and refuses a non-ASCII byte before a line's first `:`. Real clients never send one
/// there (header names are ASCII tokens; UTF-8 file names sit in the value, after the `:`), and a boundary is
/// chosen never to occur in the content, so no real form is refused.
struct MultipartHeaderGuard {
    private enum Mode {
        /// Outside a header section.
        case outside
        /// In a header line, before its `:`.
        case name(empty: Bool)
        /// In a header line, after its `:`.
        case value
        /// After a CR in a header section: the LF that ends the line, or the section if the line was empty.
        case lineEnd(sectionEnds: Bool)
    }

    /// `--<boundary>` CRLF.
    private let delimiter: [UInt8]
    /// The last bytes seen, so that a delimiter split between two buffers is still found.
    private var carry: [UInt8] = []
    private var mode = Mode.outside
    /// Bytes of the current header section: multipart-kit keeps a header line in memory until its line ending
    /// arrives, so one endless line would otherwise hold up to the whole upload.
    private var sectionBytes = 0

    init(boundary: String) {
        delimiter = Array("--\(boundary)\r\n".utf8)
    }

    /// `false` when `buffer` holds a header-name byte the parser cannot take; the body must then be refused.
    mutating func accepts(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { accepts($0) }
    }

    private mutating func accepts(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        var index = 0
        while index < count {
            if case .outside = mode {
                // Fast path through content: only a LF can end a delimiter.
                guard let next = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else { break }
                index = next
                if endsDelimiter(at: index, in: bytes) {
                    mode = .name(empty: true)
                    sectionBytes = 0
                }
                index += 1
                continue
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n"), endsDelimiter(at: index, in: bytes) {
                mode = .name(empty: true)
                sectionBytes = 0
                index += 1
                continue
            }
            sectionBytes += 1
            if sectionBytes > MultipartReader.maxHeaderBytes { return false }
            switch mode {
            case .outside:
                break
            case .name(let empty):
                if byte >= 0x80 { return false }
                if byte == UInt8(ascii: ":") {
                    mode = .value
                } else if byte == UInt8(ascii: "\r") {
                    mode = .lineEnd(sectionEnds: empty)
                } else {
                    mode = .name(empty: false)
                }
            case .value:
                if byte == UInt8(ascii: "\r") { mode = .lineEnd(sectionEnds: false) }
            case .lineEnd(let sectionEnds):
                mode = sectionEnds && byte == UInt8(ascii: "\n") ? .outside : .name(empty: byte == UInt8(ascii: "\n"))
                if byte != UInt8(ascii: "\n") {
                    if byte >= 0x80 { return false }
                    if byte == UInt8(ascii: ":") { mode = .value }
                }
            }
            index += 1
        }
        keepTail(of: bytes)
        return true
    }

    /// Whether the delimiter ends at `index` (a LF), looking back into earlier buffers through `carry`.
    private func endsDelimiter(at index: Int, in bytes: UnsafeRawBufferPointer) -> Bool {
        let length = delimiter.count
        guard index + 1 + carry.count >= length else { return false }
        for offset in 0..<length {
            let position = index - offset
            let byte = position >= 0 ? bytes[position] : carry[carry.count + position]
            if byte != delimiter[length - 1 - offset] { return false }
        }
        return true
    }

    private mutating func keepTail(of bytes: UnsafeRawBufferPointer) {
        let keep = delimiter.count - 1
        if bytes.count >= keep {
            carry = Array(bytes[(bytes.count - keep)...])
        } else {
            carry = Array((carry + Array(bytes)).suffix(keep))
        }
    }
}
