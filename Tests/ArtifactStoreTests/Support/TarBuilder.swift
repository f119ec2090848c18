/// Builds ustar archives for nested-archive tests (a `.tar.gz` inside an upload).
struct TarBuilder {
    private var out: [UInt8] = []

    mutating func add(_ name: String, _ contents: [UInt8], type: UInt8 = UInt8(ascii: "0"), link: String = "") {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte } }
        put(name, at: 0)
        put("0000644", at: 100)
        put("0000000", at: 108)
        put("0000000", at: 116)
        put(String(String(contents.count, radix: 8).leftPadded(11)), at: 124)
        put("00000000000", at: 136)
        header[156] = type
        put(link, at: 157)
        put("ustar", at: 257)
        put("00", at: 263)
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(String(String(checksum, radix: 8).leftPadded(6)), at: 148)
        header[154] = 0
        out += header + contents + [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
    }

    func build() -> [UInt8] { out + [UInt8](repeating: 0, count: 1024) }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
