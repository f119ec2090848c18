import Foundation
import Gateway
import NIOCore

/// Writes small ZIP archives (stored entries) for the tests: sources, certs bundles and results.
enum ZipBuilder {
    static func zip(_ files: [(String, [UInt8])]) -> [UInt8] {
        var output: [UInt8] = []
        var central: [UInt8] = []
        for (name, data) in files {
            let offset = UInt32(output.count)
            let nameBytes = Array(name.utf8)
            let crc = crc32(data)
            var local: [UInt8] = [0x50, 0x4b, 0x03, 0x04]
            local += le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
            local += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count))
            local += le16(UInt16(nameBytes.count)) + le16(0) + nameBytes
            output += local + data
            var entry: [UInt8] = [0x50, 0x4b, 0x01, 0x02]
            entry += le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
            entry += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count))
            entry += le16(UInt16(nameBytes.count)) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset)
            entry += nameBytes
            central += entry
        }
        let centralOffset = UInt32(output.count)
        output += central
        output += [0x50, 0x4b, 0x05, 0x06] + le16(0) + le16(0) + le16(UInt16(files.count)) + le16(UInt16(files.count))
        output += le32(UInt32(central.count)) + le32(centralOffset) + le16(0)
        return output
    }

    /// A tiny Expo-like project.
    static func source(_ marker: String = "app") -> [UInt8] {
        zip([
            ("package.json", Array("{\"name\":\"\(marker)\"}".utf8)),
            ("app.json", Array("{\"expo\":{\"name\":\"\(marker)\"}}".utf8)),
            ("App.js", Array("export default function App() { return null }\n".utf8)),
        ])
    }

    static let p12Bytes: [UInt8] = Array("FAKE-P12-\(UUID().uuidString)-PKCS12-BYTES".utf8)
    static let profileBytes: [UInt8] = Array("FAKE-PROFILE-\(UUID().uuidString)-MOBILEPROVISION".utf8)
    static let certsPassword = "s3cret-\(UUID().uuidString.prefix(8))"

    /// A signing bundle as the CLI sends it.
    static func certs() -> [UInt8] {
        zip([
            ("cert.p12", p12Bytes),
            ("password.txt", Array("  \(certsPassword)\n".utf8)),
            ("profile.mobileprovision", profileBytes),
        ])
    }

    /// A small .ipa/.apk stand-in.
    static func result(_ marker: String = "result") -> [UInt8] {
        zip([("Payload/App.app/Info.plist", Array("<plist>\(marker)</plist>".utf8))])
    }

    private static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
    private static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) } }

    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        return crc
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xffff_ffff
    }
}

/// A multipart/form-data body.
struct MultipartBody {
    let boundary = "----fac-test-\(UUID().uuidString)"
    private(set) var bytes: [UInt8] = []

    mutating func field(_ name: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    mutating func file(_ name: String, filename: String, contentType: String = "application/zip", _ data: [UInt8]) {
        bytes += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
        bytes += data
        bytes += Array("\r\n".utf8)
    }

    func finished() -> [UInt8] { bytes + Array("--\(boundary)--\r\n".utf8) }
    var contentType: String { "multipart/form-data; boundary=\(boundary)" }
}
