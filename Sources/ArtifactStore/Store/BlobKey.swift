import Identifiers

/// The typed name of one blob: a build and a kind.
///
/// Storage locations are derived from this value only, never from a string a client sent: ``BuildID`` admits just
/// `[A-Za-z0-9_-]{1,64}`, so a key cannot carry a separator, a dot, a NUL byte or an encoded traversal.
public struct BlobKey: Hashable, Sendable, CustomStringConvertible {
    /// The build the blob belongs to.
    public let build: BuildID
    /// What the blob is.
    public let kind: BlobKind

    /// Names the blob of `kind` for `build`.
    public init(build: BuildID, kind: BlobKind) {
        self.build = build
        self.kind = kind
    }

    /// `<kind>/<build>`, e.g. `source/V1StGXR8_Z5jdHi6B-myT`. Safe to log: it holds no path of the host.
    public var description: String { "\(kind.rawValue)/\(build.rawValue)" }

    /// The shard folder: the first two characters of the id, so no folder grows past 64² entries per kind.
    var shard: String { String(build.rawValue.prefix(2)) }

    /// The file name inside the shard folder.
    var fileName: String { build.rawValue }
}
