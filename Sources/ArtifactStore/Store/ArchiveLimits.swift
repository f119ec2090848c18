/// How much an uploaded archive may expand, and how it may be shaped, before it is refused.
///
/// Bytes are counted as they are actually decompressed, at every nesting level, never from sizes an entry declares.
public struct ArchiveLimits: Sendable, Equatable {
    /// The most bytes all entries (nested archives' entries included) may unpack to.
    public var maxUnpackedBytes: Int64
    /// The most unpacked bytes per byte of upload, enforced once ``ratioGraceBytes`` have been unpacked.
    public var maxRatio: Double
    /// Unpacked bytes below which the ratio is not enforced, so that tiny uploads of text may compress well.
    public var ratioGraceBytes: Int64
    /// The most entries, directories and nested archives' entries included.
    public var maxEntries: Int
    /// The deepest nesting allowed: the upload is depth 0, an archive inside it depth 1.
    public var maxNestingDepth: Int

    /// Defaults to the contract's ratio of 100.
    public static let defaultMaxRatio: Double = 100
    /// Defaults to 1 MiB.
    public static let defaultRatioGraceBytes: Int64 = 1 << 20
    /// Defaults to 100,000.
    public static let defaultMaxEntries = 100_000
    /// Defaults to 2: an archive in an archive in the upload passes, one level deeper is refused.
    public static let defaultMaxNestingDepth = 2
    /// The unpacked total defaults to this multiple of the upload's own size limit.
    public static let defaultUnpackedMultiple: Int64 = 4

    /// Sets every limit.
    public init(maxUnpackedBytes: Int64, maxRatio: Double, ratioGraceBytes: Int64, maxEntries: Int, maxNestingDepth: Int) {
        self.maxUnpackedBytes = maxUnpackedBytes
        self.maxRatio = maxRatio
        self.ratioGraceBytes = ratioGraceBytes
        self.maxEntries = maxEntries
        self.maxNestingDepth = maxNestingDepth
    }

    /// The contract's defaults for an upload whose own size limit is `uploadLimit`: at most 4 × that unpacked,
    /// a ratio of at most 100 past 1 MiB, at most 100,000 entries, nesting depth at most 2.
    public static func defaults(forUploadLimit uploadLimit: Int64) -> ArchiveLimits {
        let (product, overflow) = uploadLimit.multipliedReportingOverflow(by: defaultUnpackedMultiple)
        return ArchiveLimits(
            maxUnpackedBytes: overflow ? .max : product,
            maxRatio: defaultMaxRatio,
            ratioGraceBytes: defaultRatioGraceBytes,
            maxEntries: defaultMaxEntries,
            maxNestingDepth: defaultMaxNestingDepth
        )
    }
}
