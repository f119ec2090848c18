/// Standard base64 (RFC 4648 §4) for master keys, written here rather than taken from Foundation so that the
/// decoded key lands in a `[UInt8]` we can wipe, and so that decoding is strict: a key file with a stray
/// character is a mistake to report, not something to guess around.
enum StrictBase64 {
    /// Decodes standard base64, padded or not. `nil` for any character outside the alphabet, padding anywhere
    /// but the end, an impossible length, or non-zero bits after the last byte (a non-canonical encoding).
    static func decode(_ text: Substring) -> [UInt8]? {
        var symbols = Array(text.utf8)
        defer { symbols.wipe() }
        var padding = 0
        while symbols.last == UInt8(ascii: "=") {
            symbols.removeLast()
            padding += 1
        }
        guard padding <= 2, !symbols.isEmpty, symbols.count % 4 != 1 else { return nil }
        if padding > 0, (symbols.count + padding) % 4 != 0 { return nil }

        var output = [UInt8]()
        output.reserveCapacity(symbols.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bitCount = 0
        for symbol in symbols {
            guard let value = sextet(symbol) else {
                output.wipe()
                return nil
            }
            accumulator = accumulator << 6 | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bitCount)))
                accumulator &= (1 << UInt32(bitCount)) - 1
            }
        }
        // Whatever bits remain after the last whole byte must be zero, or two texts would decode to one key.
        guard accumulator == 0 else {
            output.wipe()
            return nil
        }
        return output
    }

    /// Encodes with padding, as `openssl rand -base64 32` prints.
    static func encode(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let remaining = Swift.min(3, bytes.count - index)
            var chunk = UInt32(bytes[index]) << 16
            if remaining > 1 { chunk |= UInt32(bytes[index + 1]) << 8 }
            if remaining > 2 { chunk |= UInt32(bytes[index + 2]) }
            for position in 0..<4 {
                if position <= remaining {
                    output.append(alphabet[Int((chunk >> UInt32(18 - 6 * position)) & 63)])
                } else {
                    output.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        defer { output.wipe() }
        return String(decoding: output, as: UTF8.self)
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static func sextet(_ symbol: UInt8) -> UInt8? {
        switch symbol {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): symbol - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): symbol - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): symbol - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
