/// Random access to a temporary file for archive inspection, through `pread` on the writer's descriptor.
struct FileStagedReader: StagedBlobReader {
    let fd: Int32
    let size: Int64

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try SystemCall.readFully(fd, into: buffer, at: offset)
    }
}
