/// The running count of one inspection, shared by every nesting level: bytes actually decompressed and entries.
final class ArchiveBudget {
    let limits: ArchiveLimits
    /// The size of the upload itself, the denominator of the ratio.
    let uploadSize: Int64
    private(set) var unpackedBytes: Int64 = 0
    private(set) var entryCount = 0
    private var rawEntryCount = 0
    /// The first limit crossed. Kept because a crossing inside a libarchive callback cannot throw through C: the
    /// callback fails, libarchive reports a generic error, and the walker asks here what really happened.
    private(set) var violation: ArchiveRejection?

    init(limits: ArchiveLimits, uploadSize: Int64) {
        self.limits = limits
        self.uploadSize = max(uploadSize, 1)
    }

    func count(bytes: Int) throws {
        unpackedBytes += Int64(bytes)
        if unpackedBytes > limits.maxUnpackedBytes
            || (unpackedBytes > limits.ratioGraceBytes && Double(unpackedBytes) / Double(uploadSize) > limits.maxRatio)
        {
            throw record(.expandsTooMuch)
        }
    }

    func countEntry() throws {
        entryCount += 1
        if entryCount > limits.maxEntries { throw record(.tooManyEntries) }
    }

    /// Counts an entry of the raw central directory, checked before libarchive counts the same entries again.
    func countRawEntry() throws {
        rawEntryCount += 1
        if rawEntryCount > limits.maxEntries { throw record(.tooManyEntries) }
    }

    func record(_ rejection: ArchiveRejection) -> ArchiveRejection {
        if violation == nil { violation = rejection }
        return rejection
    }
}
