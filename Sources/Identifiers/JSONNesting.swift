/// How deeply JSON text nests, counted without parsing it: a cheap bound checked before a recursive parser
/// (`JSONDecoder`, `JSONSerialization`) sees text from outside — request bodies and legacy rows alike.
public enum JSONNesting {
    /// `true` when brackets (`[`, `{`) nest no deeper than `maxDepth`; brackets inside strings are skipped.
    public static func isBounded(_ bytes: some Sequence<UInt8>, maxDepth: Int) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxDepth { return false }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return true
    }
}
