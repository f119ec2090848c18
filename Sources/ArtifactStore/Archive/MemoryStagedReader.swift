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
