/// The alphabet of every identifier and token the controller hands out: URL-safe base64 (`[A-Za-z0-9_-]`).
///
/// Anything a client sends is checked against it before it is used anywhere, so an identifier can never
/// carry a path separator, a dot, a NUL byte or a quote into a storage key, a log line or a query.
enum URLSafeAlphabet {
    static let characters: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func contains(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// `count` characters drawn uniformly from the alphabet with the system CSPRNG (64 symbols: no modulo bias).
    static func random(count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in characters[Int(generator.next() & 63)] }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isValid(_ text: Substring, maxLength: Int) -> Bool {
        let utf8 = text.utf8
        return !utf8.isEmpty && utf8.count <= maxLength && utf8.allSatisfy(contains)
    }
}

/// The identifier of a build: 21 URL-safe characters when the controller makes it, and at most
/// ``maxLength`` URL-safe characters when it arrives from a client or a legacy database.
public struct BuildID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The longest identifier accepted from outside.
    public static let maxLength = 64
    /// The validated text of the identifier.
    public let rawValue: String

    /// Validates `text`; `nil` when it is empty, too long or has a character outside `[A-Za-z0-9_-]`.
    public init?(_ text: some StringProtocol) {
        guard URLSafeAlphabet.isValid(Substring(text), maxLength: Self.maxLength) else { return nil }
        self.rawValue = String(text)
    }

    private init(validated: String) { self.rawValue = validated }

    /// A fresh random identifier of 21 characters (126 bits).
    public static func random() -> BuildID { BuildID(validated: URLSafeAlphabet.random(count: 21)) }

    public var description: String { rawValue }

    /// Byte-wise order, as the contract's list ordering asks for ("ids compared byte by byte").
    public static func < (lhs: BuildID, rhs: BuildID) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }
}

/// The identifier of a worker: made by the controller (21 characters) or proposed by the worker at
/// registration (at most ``maxLength`` URL-safe characters, e.g. a UUID).
public struct WorkerID: Hashable, Sendable, CustomStringConvertible {
    /// The longest identifier accepted from outside.
    public static let maxLength = 64
    /// The validated text of the identifier.
    public let rawValue: String

    /// Validates `text`; `nil` when it is empty, too long or has a character outside `[A-Za-z0-9_-]`.
    public init?(_ text: some StringProtocol) {
        guard URLSafeAlphabet.isValid(Substring(text), maxLength: Self.maxLength) else { return nil }
        self.rawValue = String(text)
    }

    private init(validated: String) { self.rawValue = validated }

    /// A fresh random identifier of 21 characters.
    public static func random() -> WorkerID { WorkerID(validated: URLSafeAlphabet.random(count: 21)) }

    public var description: String { rawValue }
}
