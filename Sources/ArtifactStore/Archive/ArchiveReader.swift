/// Reads small archives held in memory.
public enum ArchiveReader {
    /// Reads a small ZIP held in memory (a certs bundle) with libarchive, with the same hostile-entry checks and
    /// limits as an upload's inspection, and returns its regular files in archive order. Folders are skipped.
    ///
    /// Blocking, but bounded by `limits.maxUnpackedBytes`: meant for bundles of kilobytes.
    ///
    /// - Throws: ``ArtifactStoreError`` with ``ArtifactStoreError/Code/archiveRejected`` and a client-safe reason.
    public static func entries(ofZip bytes: [UInt8], limits: ArchiveLimits) throws -> [ArchiveEntry] {
        let collector = EntryCollector()
        do {
            try ArchiveInspector.walkUpload(MemoryStagedReader(bytes: bytes), limits: limits, collector: collector)
        } catch let rejection as ArchiveRejection {
            throw ArtifactStoreError.archiveRejected(nil, reason: rejection.reason, underlying: rejection)
        }
        collector.finish()
        return collector.entries
    }
}
