import Foundation

/// A single byte range of a `Range: bytes=...` header, resolved against the size of the file.
enum ByteRange: Equatable {
    /// No usable Range header: send the whole file.
    case whole
    /// Send `range` (inclusive) with 206.
    case partial(ClosedRange<Int64>)
    /// Answer 416.
    case unsatisfiable

    /// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`. Multiple ranges and other units are ignored (the whole file
    /// is sent), as RFC 9110 allows; a syntactically valid range outside the file is unsatisfiable.
    static func parse(_ header: String?, size: Int64) -> ByteRange {
        guard let header, header.hasPrefix("bytes="), header.utf8.count <= 200 else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(",") else { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingCharacters(in: .whitespaces)
        let last = parts[1].trimmingCharacters(in: .whitespaces)
        func number(_ text: String) -> Int64? {
            guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int64(text)
        }
        if first.isEmpty {
            guard let suffix = number(last) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - suffix)...(size - 1))
        }
        guard let start = number(first) else { return .whole }
        guard start < size else { return .unsatisfiable }
        if last.isEmpty { return .partial(start...(size - 1)) }
        guard let end = number(last), end >= start else { return .whole }
        return .partial(start...min(end, size - 1))
    }
}
