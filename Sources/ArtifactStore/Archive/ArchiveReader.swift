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

/// Bytes in memory seen as a staged blob.
struct MemoryStagedReader: StagedBlobReader {
    let bytes: [UInt8]

    var size: Int64 { Int64(bytes.count) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        guard offset < bytes.count else { return 0 }
        let start = Int(offset)
        let count = Swift.min(buffer.count, bytes.count - start)
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<(start + count)]))
        }
        return count
    }
}
