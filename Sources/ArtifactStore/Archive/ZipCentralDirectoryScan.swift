/// Checks the raw central directory of the upload before libarchive reads it.
///
/// libarchive hands names over as C strings and tidies them (a NUL byte ends the name, `\` becomes `/`), and it may
/// read a Unix FIFO or device entry as a plain file. Unzip tools on the workers see the raw bytes, so the raw bytes
/// are what must be checked: names with NUL, backslash or control bytes, and Unix types other than file, folder or
/// symlink (symlinks get their own reason) are refused here. Nested archives are streamed and have no central
/// directory to read ahead; for them libarchive's view is all there is.
enum ZipCentralDirectoryScan {
    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let entrySignature: UInt32 = 0x0201_4B50
    /// The end record is 22 bytes plus a comment of at most 65,535.
    private static let endSearchLength = 22 + 65_535

    static func check(_ reader: any StagedBlobReader, budget: ArchiveBudget) throws {
        guard let (offset, size) = try locateCentralDirectory(reader) else { throw ArchiveRejection.notAZip }
        guard offset >= 0, size >= 0, offset + size <= reader.size else { throw ArchiveRejection.notAZip }
        var position = offset
        let end = offset + size
        while position + 46 <= end {
            let header = try bytes(reader, at: position, count: 46)
            guard uint32(header, 0) == entrySignature else { throw ArchiveRejection.damaged }
            let madeBy = header[5]
            let nameLength = Int(uint16(header, 28))
            let extraLength = Int(uint16(header, 30))
            let commentLength = Int(uint16(header, 32))
            let externalAttributes = uint32(header, 38)
            // The entry count is checked here too, so that a directory of millions of entries is not walked.
            try budget.countRawEntry()
            let name = try bytes(reader, at: position + 46, count: nameLength)
            guard ArchiveEntryPolicy.isAllowed(rawName: name) else { throw ArchiveRejection.entryName }
            if madeBy == 3 {  // Unix: the high 16 bits of the external attributes are st_mode.
                switch (externalAttributes >> 16) & 0o170000 {
                case 0, ArchiveEntryPolicy.regularFile, ArchiveEntryPolicy.directory: break
                case 0o120000: throw ArchiveRejection.link
                default: throw ArchiveRejection.entryType
                }
            }
            position += Int64(46 + nameLength + extraLength + commentLength)
        }
    }

    /// Finds the end record from the back and returns the central directory's offset and size, or nil.
    private static func locateCentralDirectory(_ reader: any StagedBlobReader) throws -> (Int64, Int64)? {
        guard reader.size >= 22 else { return nil }
        let tailStart = max(0, reader.size - Int64(endSearchLength))
        let tail = try bytes(reader, at: tailStart, count: Int(reader.size - tailStart))
        var index = tail.count - 22
        while index >= 0 {
            if uint32(tail, index) == endSignature { break }
            index -= 1
        }
        guard index >= 0 else { return nil }
        let size = Int64(uint32(tail, index + 12))
        let offset = Int64(uint32(tail, index + 16))
        guard size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF || uint16(tail, index + 10) == 0xFFFF else {
            return (offset, size)
        }
        // Zip64: a locator sits right before the end record and points at the Zip64 end record.
        let locatorPosition = tailStart + Int64(index) - 20
        guard locatorPosition >= 0 else { return nil }
        let locator = try bytes(reader, at: locatorPosition, count: 20)
        guard uint32(locator, 0) == zip64LocatorSignature else { return nil }
        let zip64End = try bytes(reader, at: Int64(bitPattern: uint64(locator, 8)), count: 56)
        guard uint32(zip64End, 0) == zip64EndSignature else { return nil }
        return (Int64(bitPattern: uint64(zip64End, 48)), Int64(bitPattern: uint64(zip64End, 40)))
    }

    private static func bytes(_ reader: any StagedBlobReader, at offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset + Int64(count) <= reader.size else { throw ArchiveRejection.damaged }
        var result = [UInt8](repeating: 0, count: count)
        let got = try result.withUnsafeMutableBytes { try reader.read(into: $0, at: offset) }
        guard got == count else { throw ArchiveRejection.damaged }
        return result
    }

    private static func uint16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    private static func uint32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(uint16(bytes, at)) | UInt32(uint16(bytes, at + 2)) << 16
    }
    private static func uint64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        UInt64(uint32(bytes, at)) | UInt64(uint32(bytes, at + 4)) << 32
    }
}
