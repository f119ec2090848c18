// ByteRange.parse: the `Range` header of a download, against any file size.
@testable import Gateway

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    // The first 8 bytes pick the file size (any Int64, negative included); the rest is the header text.
    var size: Int64 = 0
    for byte in bytes.prefix(8) { size = size << 8 | Int64(byte) }
    let header = String(decoding: bytes.dropFirst(8), as: UTF8.self)
    for candidate in [size, size & 0xFFFF, 0, 1, Int64.max] {
        switch ByteRange.parse(header, size: candidate) {
        case .whole, .unsatisfiable:
            break
        case .partial(let range):
            // A range we would serve lies inside the file and is never empty.
            check(candidate > 0, "partial range of an empty file: \(header) size \(candidate)")
            check(range.lowerBound >= 0 && range.upperBound < candidate, "range \(range) outside size \(candidate)")
        }
    }
    _ = ByteRange.parse(nil, size: size)
    return 0
}
