extension String {
    /// The value without the spaces and tabs HTTP allows around a field value (RFC 9110 "OWS").
    ///
    /// Credential headers are read on every request; Foundation's `trimmingCharacters(in:)` goes through `NSString`
    /// and cost 1 % of the controller's CPU in an assignment run (docs/benchmarks.md).
    var trimmingOptionalWhitespace: Substring {
        func isOWS(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let bytes = utf8
        guard let first = bytes.firstIndex(where: { !isOWS($0) }) else { return self[endIndex...] }
        let last = bytes.lastIndex(where: { !isOWS($0) })!
        return self[first...last]
    }
}
