// ArchiveReader.entries(ofZip:limits:) and the streaming inspector BlobWriter.commit(inspect:) runs
// (ArchiveInspector.inspect), on any bytes: libarchive underneath, our policy on top.
// Properties: never crash; never return an entry whose name could escape the folder it is unpacked into;
// never return more bytes or entries than the limits allow; the inspector and the reader agree.
@testable import ArtifactStore

private let limits = ArchiveLimits(
    maxUnpackedBytes: 4 << 20, maxRatio: 100, ratioGraceBytes: 64 << 10, maxEntries: 200, maxNestingDepth: 2
)

private func safe(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard !bytes.isEmpty, bytes.first != UInt8(ascii: "/") else { return false }
    guard !bytes.contains(0), !bytes.contains(UInt8(ascii: "\\")), !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
        return false
    }
    if bytes.count >= 2, bytes[1] == UInt8(ascii: ":") { return false }
    return !name.split(separator: "/", omittingEmptySubsequences: false).contains("..")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    let entries: [ArchiveEntry]?
    do {
        entries = try ArchiveReader.entries(ofZip: bytes, limits: limits)
    } catch let error as ArtifactStoreError {
        check(error.code == .archiveRejected, "unexpected error code \(error.code)")
        entries = nil
    } catch {
        fatalError("fuzz property violated: ArchiveReader threw \(type(of: error)), not ArtifactStoreError")
    }
    var inspected = true
    do {
        try ArchiveInspector.inspect(MemoryStagedReader(bytes: bytes), limits: limits)
    } catch is ArchiveRejection {
        inspected = false
    } catch {
        fatalError("fuzz property violated: inspect threw \(type(of: error)), not ArchiveRejection")
    }
    check(inspected == (entries != nil), "inspector (\(inspected)) and reader (\(entries != nil)) disagree")
    guard let entries else { return 0 }
    check(entries.count <= limits.maxEntries, "\(entries.count) entries returned")
    var total: Int64 = 0
    for entry in entries {
        check(safe(entry.name), "entry name escapes: \(entry.name.debugDescription)")
        total += Int64(entry.contents.count)
    }
    check(total <= limits.maxUnpackedBytes, "\(total) bytes returned")
    return 0
}
