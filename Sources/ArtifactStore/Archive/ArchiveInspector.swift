import CLibArchive

/// Inspects an archive by decompressing every entry with libarchive and throwing the bytes away: nothing is
/// extracted to disk, nothing but a 64 KiB block is held in memory (plus, for ``ArchiveReader``, the kept entries).
///
/// Blocking: run it on a thread pool. Each entry's name and type are checked before its data is read; its bytes
/// are counted as they are decompressed, never from the sizes it declares. An entry whose first bytes are those of
/// an archive or compressed stream is inspected in turn, streaming from the parent's decompressor, one nesting
/// level deeper. A nested archive that is merely damaged (a test fixture, a truncated download inside a project) is
/// tolerated, since unzipping the upload does not unpack it; its bytes still count, and its rules still apply to
/// every entry read before the damage.
enum ArchiveInspector {
    /// Inspects the staged upload; throws ``ArchiveRejection``.
    static func inspect(_ reader: any StagedBlobReader, limits: ArchiveLimits) throws {
        try walkUpload(reader, limits: limits, collector: nil)
    }

    static func walkUpload(_ reader: any StagedBlobReader, limits: ArchiveLimits, collector: EntryCollector?) throws {
        let budget = ArchiveBudget(limits: limits, uploadSize: reader.size)
        try ZipCentralDirectoryScan.check(reader, budget: budget)
        let archive = try LibArchiveReader(input: StagedInput(reader: reader), formats: .zip)
        try walk(archive, depth: 0, budget: budget, collector: collector)
    }

    /// Walks every entry of `archive`, which sits at nesting level `depth`. `isDecompressedStream` marks the single
    /// entry of a bare compressed stream: a tar found there is the same archive as its compression (`.tar.gz` is one
    /// level), not one more.
    private static func walk(
        _ archive: LibArchiveReader, depth: Int, budget: ArchiveBudget, collector: EntryCollector?,
        isDecompressedStream: Bool = false
    ) throws {
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: StagedInput.blockSize, alignment: 16)
        defer { block.deallocate() }
        while true {
            var entry: OpaquePointer?
            let status = archive_read_next_header(archive.handle, &entry)
            if status == ARCHIVE_EOF { return }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw budget.violation ?? ArchiveRejection.damaged.with(detail: archive.errorString)
            }
            try budget.countEntry()
            let (name, isRegularFile) = try ArchiveEntryPolicy.check(entry)
            guard isRegularFile else { continue }
            collector?.begin(name: name, keep: depth == 0)
            try readEntry(
                archive, depth: depth, budget: budget, block: block, collector: depth == 0 ? collector : nil,
                isDecompressedStream: isDecompressedStream)
        }
    }

    /// Reads one entry's data to its end, recursing into it when it is itself an archive.
    private static func readEntry(
        _ archive: LibArchiveReader, depth: Int, budget: ArchiveBudget, block: UnsafeMutableRawBufferPointer,
        collector: EntryCollector?, isDecompressedStream: Bool
    ) throws {
        var head: [UInt8] = []
        var ended = false
        while head.count < ArchiveMagic.sniffLength {
            let count = try read(archive, into: block, budget: budget)
            if count == 0 {
                ended = true
                break
            }
            head.append(contentsOf: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(block)[..<count]))
        }
        head.withUnsafeBytes { collector?.append($0) }
        guard let kind = ArchiveMagic.detect(head) else {
            // A small archive may end within the sniffed head: it is inspected all the same, below.
            while !ended {
                let count = try read(archive, into: block, budget: budget)
                if count == 0 { break }
                collector?.append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(block)[..<count]))
            }
            return
        }
        let nestedDepth = kind == .container && isDecompressedStream ? depth : depth + 1
        guard nestedDepth <= budget.limits.maxNestingDepth else { throw budget.record(.nestedTooDeep) }
        let input = NestedEntryInput(
            parent: archive.handle, head: head, parentEnded: ended, budget: budget, observe: collector?.append)
        do {
            // A compressed stream is read raw, to its very end: parsed as a tar, a stream of zeros would look like
            // an empty tar and its expansion would go uncounted. What it decompresses to is sniffed in turn.
            let nested = try LibArchiveReader(input: input, formats: kind == .container ? .anyContainer : .decompressedStream)
            try walk(nested, depth: nestedDepth, budget: budget, collector: nil, isDecompressedStream: kind == .compressedStream)
        } catch let rejection as ArchiveRejection where rejection.kind == .malformed {
            // Tolerated only when the nested archive itself is damaged; `drain` rethrows a limit crossed or a
            // parent that could not be decompressed.
        }
        try input.drain()
    }

    /// One `archive_read_data` call, counted in the budget.
    private static func read(_ archive: LibArchiveReader, into block: UnsafeMutableRawBufferPointer, budget: ArchiveBudget)
        throws -> Int
    {
        let count = archive_read_data(archive.handle, block.baseAddress, block.count)
        guard count >= 0 else { throw budget.violation ?? ArchiveRejection.damaged.with(detail: archive.errorString) }
        try budget.count(bytes: count)
        return count
    }
}
