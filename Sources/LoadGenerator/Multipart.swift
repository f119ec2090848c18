import Foundation
import NIOCore

/// A `multipart/form-data` body built in memory: the load generator only sends small files.
struct MultipartForm: Sendable {
    let boundary: String
    private(set) var body = ByteBuffer()

    init(boundary: String = "fac-loadgen-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)) {
        self.boundary = boundary
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func field(_ name: String, _ value: String) {
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
    }

    mutating func file(_ name: String, filename: String, contentType: String, _ bytes: [UInt8]) {
        body.writeString(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\n"
                + "Content-Type: \(contentType)\r\n\r\n")
        body.writeBytes(bytes)
        body.writeString("\r\n")
    }

    /// The body with its closing boundary.
    func finished() -> ByteBuffer {
        var copy = body
        copy.writeString("--\(boundary)--\r\n")
        return copy
    }
}

/// The tiny archives the simulated CLI and workers send.
enum Fixtures {
    /// A stored (uncompressed) ZIP of an Expo project: `package.json`, `app.json`, `index.js` (426 bytes).
    static let source: [UInt8] = decode(
        "UEsDBBQAAAAAAAAAIVzkpIliNgAAADYAAAAMAAAAcGFja2FnZS5qc29ueyJuYW1lIjoibG9hZGdlbiIsInZlcnNpb24iOiIxLjAuMCIsIm1haW4iOiJpbmRleC5qcyJ9UEsDBBQAAAAAAAAAIVykvEB/LAAAACwAAAAIAAAAYXBwLmpzb257ImV4cG8iOnsibmFtZSI6ImxvYWRnZW4iLCJzbHVnIjoibG9hZGdlbiJ9fVBLAwQUAAAAAAAAACFcfIQy6RYAAAAWAAAACAAAAGluZGV4LmpzY29uc29sZS5sb2coImxvYWRnZW4iKVBLAQIUAxQAAAAAAAAAIVzkpIliNgAAADYAAAAMAAAAAAAAAAAAAACAAQAAAABwYWNrYWdlLmpzb25QSwECFAMUAAAAAAAAACFcpLxAfywAAAAsAAAACAAAAAAAAAAAAAAAgAFgAAAAYXBwLmpzb25QSwECFAMUAAAAAAAAACFcfIQy6RYAAAAWAAAACAAAAAAAAAAAAAAAgAGyAAAAaW5kZXguanNQSwUGAAAAAAMAAwCmAAAA7gAAAAAA"
    )
    /// A stored ZIP standing in for a built app: one `classes.dex` (135 bytes).
    static let result: [UInt8] = decode(
        "UEsDBBQAAAAAAAAAIVy+2Z2IDwAAAA8AAAALAAAAY2xhc3Nlcy5kZXhkZXgKMDM1AGxvYWRnZW5QSwECFAMUAAAAAAAAACFcvtmdiA8AAAAPAAAACwAAAAAAAAAAAAAAgAEAAAAAY2xhc3Nlcy5kZXhQSwUGAAAAAAEAAQA5AAAAOAAAAAAA"
    )

    /// The bytes of a base64 constant above; a bad constant is a programming error.
    static func decode(_ text: String) -> [UInt8] {
        guard let data = Data(base64Encoded: text) else { preconditionFailure("not base64") }
        return [UInt8](data)
    }
}
