/// Builds ZIP files byte by byte, so that tests can make the hostile ones no well-behaved tool would write: lying
/// sizes, traversal names, NUL bytes, symlinks, truncation.
struct ZipBuilder {
    enum Method: UInt16 {
        case stored = 0
        case deflate = 8
    }

    struct Entry {
        var name: [UInt8]
        var contents: [UInt8]
        var method: Method = .deflate
        /// Overrides the uncompressed size written in both headers (the real one otherwise).
        var declaredSize: UInt32?
        /// Unix mode, written in the external attributes with "made by Unix".
        var unixMode: UInt32 = 0o100644
    }

    private(set) var entries: [Entry] = []

    @discardableResult
    mutating func add(
        _ name: String, _ contents: [UInt8], method: Method = .deflate, declaredSize: UInt32? = nil,
        unixMode: UInt32 = 0o100644
    ) -> Self {
        entries.append(Entry(name: Array(name.utf8), contents: contents, method: method, declaredSize: declaredSize, unixMode: unixMode))
        return self
    }

    mutating func add(rawName: [UInt8], _ contents: [UInt8]) {
        entries.append(Entry(name: rawName, contents: contents, method: .stored))
    }

    func build() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let offset = UInt32(out.count)
            let data = entry.method == .deflate ? Deflate.compress(entry.contents) : entry.contents
            let crc = CRC32.checksum(entry.contents)
            let size = entry.declaredSize ?? UInt32(entry.contents.count)
            // Local file header.
            out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(entry.method.rawValue) + le16(0) + le16(0x21)
            out += le32(crc) + le32(UInt32(data.count)) + le32(size)
            out += le16(UInt16(entry.name.count)) + le16(0) + entry.name + data
            // Central directory header: made by Unix (3) so the mode in the external attributes counts.
            central += le32(0x0201_4B50) + le16(0x031E) + le16(20) + le16(0) + le16(entry.method.rawValue)
            central += le16(0) + le16(0x21) + le32(crc) + le32(UInt32(data.count)) + le32(size)
            central += le16(UInt16(entry.name.count)) + le16(0) + le16(0) + le16(0) + le16(0)
            central += le32(entry.unixMode << 16) + le32(offset) + entry.name
        }
        let centralOffset = UInt32(out.count)
        out += central
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
        out += le32(UInt32(central.count)) + le32(centralOffset) + le16(0)
        return out
    }

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> ($0 * 8)) & 0xFF) } }
}

extension ZipBuilder {
    /// A ZIP of one entry per `(name, contents)` pair.
    static func zip(_ files: [(String, [UInt8])], method: Method = .deflate) -> [UInt8] {
        var builder = ZipBuilder()
        for (name, contents) in files { builder.add(name, contents, method: method) }
        return builder.build()
    }
}
