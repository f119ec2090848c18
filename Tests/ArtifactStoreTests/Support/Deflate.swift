import CLibArchive

/// Raw deflate data, made with libarchive's gzip writer and stripped of the gzip header and trailer (shelling out to
/// a compressor is not allowed in tests).
enum Deflate {
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        let archive = archive_write_new()!
        defer { archive_write_free(archive) }
        archive_write_add_filter_gzip(archive)
        archive_write_set_format_raw(archive)
        // libarchive writes into this memory until close, so it must outlive any closure.
        let capacity = bytes.count + bytes.count / 100 + 64 * 1024
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { output.deallocate() }
        var used = 0
        precondition(archive_write_open_memory(archive, output.baseAddress, capacity, &used) == ARCHIVE_OK)
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_set_filetype(entry, 0o100000)
        archive_entry_set_pathname(entry, "data")
        precondition(archive_write_header(archive, entry) == ARCHIVE_OK)
        bytes.withUnsafeBytes { _ = archive_write_data(archive, $0.baseAddress, $0.count) }
        precondition(archive_write_close(archive) == ARCHIVE_OK)
        let gzip = Array(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(output)[..<used]))
        return stripGzip(gzip)
    }

    /// RFC 1952: a 10-byte header, optional extra, name, comment and header CRC, then deflate, then 8 bytes.
    private static func stripGzip(_ gzip: [UInt8]) -> [UInt8] {
        precondition(gzip.count > 18 && gzip[0] == 0x1F && gzip[1] == 0x8B)
        let flags = gzip[3]
        var index = 10
        if flags & 0x04 != 0 { index += 2 + Int(gzip[index]) + Int(gzip[index + 1]) << 8 }
        if flags & 0x08 != 0 { while gzip[index] != 0 { index += 1 }; index += 1 }
        if flags & 0x10 != 0 { while gzip[index] != 0 { index += 1 }; index += 1 }
        if flags & 0x02 != 0 { index += 2 }
        return Array(gzip[index..<(gzip.count - 8)])
    }
}

extension Deflate {
    /// A gzip member (RFC 1952) holding `bytes`.
    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        let size = UInt32(truncatingIfNeeded: bytes.count)
        return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3] + compress(bytes) + le32(CRC32.checksum(bytes)) + le32(size)
    }
}
