import CLibArchive

/// One libarchive read handle over an ``ArchiveInput``, freed with the object.
final class LibArchiveReader {
    enum Formats {
        /// The upload itself: ZIP only, read through its central directory as unzip tools do.
        case zip
        /// An archive inside the upload, recognised by its container magic: any container format, uncompressed.
        case anyContainer
        /// A bare compressed stream inside the upload: any compression, read as one raw entry to its end.
        case decompressedStream
    }

    let handle: OpaquePointer
    let input: ArchiveInput

    init(input: ArchiveInput, formats: Formats) throws {
        guard let handle = archive_read_new() else { throw ArchiveRejection.damaged.with(detail: "archive_read_new") }
        self.handle = handle
        self.input = input
        switch formats {
        case .zip:
            archive_read_support_format_zip_seekable(handle)
        case .anyContainer:
            archive_read_support_format_all(handle)
        case .decompressedStream:
            archive_read_support_format_raw(handle)
            archive_read_support_filter_all(handle)
        }
        archive_read_set_callback_data(handle, Unmanaged.passUnretained(input).toOpaque())
        archive_read_set_read_callback(handle, readCallback)
        if input.isSeekable { archive_read_set_seek_callback(handle, seekCallback) }
        guard archive_read_open1(handle) == ARCHIVE_OK else {
            let rejection = formats == .zip ? ArchiveRejection.notAZip : .damaged
            throw rejection.with(detail: errorString)
        }
    }

    deinit { archive_read_free(handle) }

    /// libarchive's last message, for logs only (it may quote an entry name).
    var errorString: String? { archive_error_string(handle).map { String(cString: $0) } }
}

private func readCallback(
    _ archive: OpaquePointer?, _ clientData: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    guard let clientData, let buffer else { return -1 }
    let input = Unmanaged<ArchiveInput>.fromOpaque(clientData).takeUnretainedValue()
    var pointer: UnsafeRawPointer?
    let count = input.next(&pointer)
    buffer.pointee = pointer
    return la_ssize_t(count)
}

private func seekCallback(
    _ archive: OpaquePointer?, _ clientData: UnsafeMutableRawPointer?, _ offset: la_int64_t, _ whence: Int32
) -> la_int64_t {
    guard let clientData else { return -1 }
    let input = Unmanaged<ArchiveInput>.fromOpaque(clientData).takeUnretainedValue()
    return la_int64_t(input.seek(to: Int64(offset), whence: whence))
}
