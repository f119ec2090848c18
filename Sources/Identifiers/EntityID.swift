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

/// What an ``EntityID`` identifies; a phantom type, so a build id cannot be passed where a worker id is wanted.
public protocol EntityKind: Sendable {}

/// Marks build identifiers.
public enum BuildKind: EntityKind {}
/// Marks worker identifiers.
public enum WorkerKind: EntityKind {}

/// The identifier of a build: 21 URL-safe characters when the controller makes it, and at most 64 URL-safe
/// characters when it arrives from a client or a legacy database.
public typealias BuildID = EntityID<BuildKind>

/// The identifier of a worker: made by the controller (21 characters) or proposed by the worker at
/// registration (at most 64 URL-safe characters, e.g. a UUID).
public typealias WorkerID = EntityID<WorkerKind>

/// A validated identifier: only `[A-Za-z0-9_-]`, 1 to ``maxLength`` characters, so it is safe in a storage key,
/// a log line or a URL as it is.
public struct EntityID<Kind: EntityKind>: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The longest identifier accepted from outside.
    public static var maxLength: Int { 64 }
    /// The validated text of the identifier.
    public let rawValue: String

    /// Validates `text`; `nil` when it is empty, too long or has a character outside `[A-Za-z0-9_-]`.
    public init?(_ text: some StringProtocol) {
        guard URLSafeAlphabet.isValid(Substring(text), maxLength: Self.maxLength) else { return nil }
        self.rawValue = String(text)
    }

    private init(validated: String) { self.rawValue = validated }

    /// A fresh random identifier of 21 characters (126 bits).
    public static func random() -> EntityID { EntityID(validated: URLSafeAlphabet.random(count: 21)) }

    public var description: String { rawValue }

    /// Byte-wise order, as the contract's list ordering asks for ("ids compared byte by byte").
    public static func < (lhs: EntityID, rhs: EntityID) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }
}
