/// Keeps the top-level regular files of an archive for ``ArchiveReader``.
final class EntryCollector {
    private(set) var entries: [ArchiveEntry] = []
    private var name: String?
    private var bytes: [UInt8] = []

    func begin(name: String, keep: Bool) {
        guard keep else { return }
        finish()
        self.name = name
    }

    func append(_ chunk: UnsafeRawBufferPointer) {
        if name != nil { bytes.append(contentsOf: chunk) }
    }

    func finish() {
        if let name { entries.append(ArchiveEntry(name: name, contents: bytes)) }
        name = nil
        bytes = []
    }
}
