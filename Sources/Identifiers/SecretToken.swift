public import Crypto

/// A bearer secret (build access token, worker token, OTP, VM token): 32 random bytes as base64url
/// without padding, 43 characters.
///
/// Only its ``digest`` is ever stored; the clear text exists in a response and in the client's hands.
/// The type's `description` is redacted so that the secret cannot reach a log line by accident.
public struct SecretToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The exact length of a token made here.
    public static let length = 43
    /// The longest token accepted from a client before it is even hashed.
    public static let maxPresentedLength = 128

    /// The clear text, to be put in a response body and nowhere else.
    public let reveal: String

    private init(clearText: String) { self.reveal = clearText }

    /// A fresh token from the system CSPRNG.
    public static func generate() -> SecretToken {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: generator.next()) }
        return SecretToken(clearText: Base64URL.encode(bytes))
    }

    /// A token a client presented; `nil` when it is empty, over-long or not URL-safe, which no token of ours is.
    public init?(presented text: some StringProtocol) {
        guard URLSafeAlphabet.isValid(Substring(text), maxLength: Self.maxPresentedLength) else { return nil }
        self.reveal = String(text)
    }

    /// The SHA-256 of the clear text: what the database keeps and looks tokens up by.
    public var digest: TokenDigest { TokenDigest(of: reveal) }

    public var description: String { "SecretToken(redacted)" }
    public var debugDescription: String { description }
}

/// The SHA-256 digest of a ``SecretToken``, as stored at rest.
///
/// Lookups go by digest (an index on a hash reveals nothing about the token), and any comparison of two
/// digests in memory is constant-time.
public struct TokenDigest: Hashable, Sendable {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps stored digest bytes; `nil` unless there are exactly 32.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    init(of clearText: String) { self.bytes = Array(SHA256.hash(data: Array(clearText.utf8))) }

    /// Compares in time independent of where the digests differ.
    public func constantTimeEquals(_ other: TokenDigest) -> Bool {
        ConstantTime.equals(bytes, other.bytes)
    }
}

/// Comparison of secrets in time that does not depend on their contents.
public enum ConstantTime {
    /// `true` when both byte sequences are equal. Runs over the longer of the two whatever their content,
    /// so only the lengths (public for every secret we hold) can leak through timing.
    public static func equals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        let left = Array(lhs)
        let right = Array(rhs)
        let length = max(left.count, right.count)
        var difference: UInt8 = left.count == right.count ? 0 : 1
        for index in 0..<length {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }

    /// `true` when both strings have the same UTF-8 bytes; see ``equals(_:_:)-(some Collection<UInt8>,_)``.
    public static func equals(_ lhs: String, _ rhs: String) -> Bool {
        equals(lhs.utf8, rhs.utf8)
    }
}

/// base64url without padding (RFC 4648 §5), the encoding of every token.
public enum Base64URL {
    /// Encodes `bytes` without `=` padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in stride(from: 18, through: 0, by: -6) {
                output.append(URLSafeAlphabet.characters[Int((chunk >> UInt32(shift)) & 63)])
            }
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            var chunk = UInt32(bytes[index]) << 16
            if remaining == 2 { chunk |= UInt32(bytes[index + 1]) << 8 }
            let symbols = remaining + 1
            for position in 0..<symbols {
                output.append(URLSafeAlphabet.characters[Int((chunk >> UInt32(18 - 6 * position)) & 63)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
