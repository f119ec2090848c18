import Foundation

/// Reads the few flat XML documents S3 answers with (errors, upload ids, listings).
///
/// Not a general XML parser: S3's answers are machine-written, unnested where we read them, and never use CDATA
/// or attributes we need. Unknown or broken input yields fewer values, never a crash.
enum S3XML {
    /// The text of every `<tag>…</tag>` in `xml`, entities decoded, in order.
    static func values(of tag: String, in xml: Substring) -> [String] {
        elements(named: tag, in: xml).map { decodeEntities($0) }
    }

    /// The text of the first `<tag>…</tag>`, entities decoded.
    static func value(of tag: String, in xml: Substring) -> String? {
        values(of: tag, in: xml).first
    }

    /// The raw inner text of every `<tag>…</tag>` (or nothing for `<tag/>`), in order.
    static func elements(named tag: String, in xml: Substring) -> [Substring] {
        let open = "<\(tag)>"
        let close = "</\(tag)>"
        var results: [Substring] = []
        var rest = xml
        while let start = rest.range(of: open) {
            guard let end = rest[start.upperBound...].range(of: close) else { break }
            results.append(rest[start.upperBound..<end.lowerBound])
            rest = rest[end.upperBound...]
        }
        return results
    }

    /// Decodes the five predefined entities and numeric character references; leaves anything else as it is.
    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var output = ""
        var rest = text
        while let ampersand = rest.firstIndex(of: "&") {
            output += rest[..<ampersand]
            let afterAmpersand = rest.index(after: ampersand)
            guard let semicolon = rest[afterAmpersand...].prefix(12).firstIndex(of: ";") else {
                output += "&"
                rest = rest[afterAmpersand...]
                continue
            }
            let name = rest[afterAmpersand..<semicolon]
            if let decoded = decodeEntity(name) {
                output += decoded
            } else {
                output += rest[ampersand...semicolon]
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return output + rest
    }

    private static func decodeEntity(_ name: Substring) -> String? {
        switch name {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            let scalarValue: UInt32?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                scalarValue = UInt32(name.dropFirst(2), radix: 16)
            } else if name.hasPrefix("#") {
                scalarValue = UInt32(name.dropFirst(), radix: 10)
            } else {
                scalarValue = nil
            }
            return scalarValue.flatMap(Unicode.Scalar.init).map { String(Character($0)) }
        }
    }

    /// Escapes text for an element's content (the keys in a CompleteMultipartUpload body are ours, but escape anyway).
    static func escape(_ text: String) -> String {
        var output = ""
        for character in text {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            default: output.append(character)
            }
        }
        return output
    }
}
