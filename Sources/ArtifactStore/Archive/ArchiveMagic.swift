/// Recognises the first bytes of an entry that is itself an archive or a compressed stream, so that it is
/// inspected in turn (a bomb may hide one level down) and counted as a nesting level.
enum ArchiveMagic {
    enum Kind {
        /// A container (ZIP, tar, 7z): libarchive's formats apply.
        case container
        /// A bare compressed stream (gzip, bzip2, xz, zstd), which may or may not hold a tar.
        case compressedStream
    }

    /// How many leading bytes ``detect(_:)`` wants: tar's magic sits at offset 257.
    static let sniffLength = 512

    static func detect(_ head: [UInt8]) -> Kind? {
        func starts(with magic: [UInt8]) -> Bool { head.count >= magic.count && head.starts(with: magic) }
        if starts(with: [0x50, 0x4B, 0x03, 0x04]) || starts(with: [0x50, 0x4B, 0x05, 0x06])
            || starts(with: [0x50, 0x4B, 0x07, 0x08]) || starts(with: [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C])
        {
            return .container
        }
        if head.count >= 262 && Array(head[257..<262]) == Array("ustar".utf8) { return .container }
        if starts(with: [0x1F, 0x8B]) || starts(with: Array("BZh".utf8)) || starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00])
            || starts(with: [0x28, 0xB5, 0x2F, 0xFD])
        {
            return .compressedStream
        }
        return nil
    }
}
