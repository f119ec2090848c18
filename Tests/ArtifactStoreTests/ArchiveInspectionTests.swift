import ArtifactStore
import NIOCore
import TestSupport
import Testing

@Suite("Archive inspection of uploads")
struct ArchiveInspectionTests {
    static let sourceLimits = ArchiveLimits.defaults(forUploadLimit: 500 << 20)
    static let zeros50MB = [UInt8](repeating: 0, count: 50_000_000)

    /// Streams `zip` into a fresh store of each backend with inspection (the S3 driver inspects through ranged
    /// GETs of its staged object), expects the same outcome from both, and returns the error, or nil when accepted.
    static func upload(_ zip: [UInt8], limits: ArchiveLimits = sourceLimits) async throws -> ArtifactStoreError? {
        var outcomes: [TestBackend: ArtifactStoreError?] = [:]
        for backend in TestBackend.allCases {
            outcomes[backend] = try await upload(zip, limits: limits, backend: backend)
        }
        let filesystem = outcomes[.filesystem] ?? nil
        let s3 = outcomes[.s3] ?? nil
        #expect(filesystem?.code == s3?.code, "the backends disagree")
        #expect(filesystem?.reason == s3?.reason, "the backends disagree")
        return filesystem
    }

    static func upload(_ zip: [UInt8], limits: ArchiveLimits, backend: TestBackend) async throws -> ArtifactStoreError? {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            do {
                let info = try await fixture.put(zip, at: key, chunk: 64 * 1024, inspect: limits)
                #expect(info.size == Int64(zip.count))
                #expect(try await fixture.store.size(of: key) == Int64(zip.count))
                return nil
            } catch let error as ArtifactStoreError {
                // A rejected upload leaves nothing at all: no blob, no temporary file, no staged object.
                #expect(try await fixture.everything().isEmpty)
                return error
            }
        }
    }

    static func expectRejected(_ zip: [UInt8], limits: ArchiveLimits = sourceLimits, reason: String? = nil) async throws {
        let error = try await upload(zip, limits: limits)
        #expect(error?.code == .archiveRejected)
        if let reason { #expect(error?.reason == reason) }
    }

    // MARK: Good archives

    @Test func goodZip_withStoredAndDeflatedEntriesAndFolders_passes() async throws {
        var builder = ZipBuilder()
        builder.add("app/", [], method: .stored, unixMode: 0o040755)
        builder.add("app/package.json", Array(#"{"name":"app"}"#.utf8))
        builder.add("app/assets/icon.png", randomBytes(300_000), method: .stored)
        builder.add("app/src/index.ts", Array(String(repeating: "export const x = 1;\n", count: 5000).utf8))
        #expect(try await Self.upload(builder.build()) == nil)
    }

    @Test func goodZip_withNestedArchivesTwoDeep_passes() async throws {
        let inner = ZipBuilder.zip([("lib.txt", Array("hello".utf8))])
        let middle = ZipBuilder.zip([("inner.zip", inner), ("readme", Array("x".utf8))], method: .stored)
        let outer = ZipBuilder.zip([("android/gradle/wrapper.jar", middle)])
        #expect(try await Self.upload(outer) == nil)
    }

    @Test func emptyZip_isRejected() async throws {
        // libarchive does not recognise a ZIP of no entries; nothing can be built from one anyway.
        try await Self.expectRejected(ZipBuilder().build())
    }

    @Test func smallButHighlyCompressibleZip_passesUnderTheRatioGrace() async throws {
        let zip = ZipBuilder.zip([("zeros.bin", [UInt8](repeating: 0, count: 900_000))])
        #expect(zip.count < 9_000, "the ratio must exceed 100 for this test to mean anything")
        #expect(try await Self.upload(zip) == nil)
    }

    // MARK: Bombs and lies

    @Test func highRatioBomb_isRejected() async throws {
        let zip = ZipBuilder.zip([("zeros.bin", Self.zeros50MB)])
        try await Self.expectRejected(zip, reason: "Archive expands too much")
    }

    @Test func bomb_isRejectedByTotalEvenWhenRatioIsAllowed() async throws {
        var limits = Self.sourceLimits
        limits.maxRatio = .infinity
        limits.maxUnpackedBytes = 10_000_000
        let zip = ZipBuilder.zip([("zeros.bin", Self.zeros50MB)])
        try await Self.expectRejected(zip, limits: limits, reason: "Archive expands too much")
    }

    @Test func nestedBomb_zipInZipInZip_isRejectedByCountingInnerBytes() async throws {
        let innermost = ZipBuilder.zip([("zeros.bin", Self.zeros50MB)])
        let middle = ZipBuilder.zip([("a.zip", innermost), ("b.zip", innermost)], method: .stored)
        let outer = ZipBuilder.zip([("bomb.zip", middle)], method: .stored)
        try await Self.expectRejected(outer, reason: "Archive expands too much")
    }

    @Test func nestedGzipBomb_isRejected() async throws {
        // Zeros decompress to what looks like an empty tar: the stream must still be counted to its end.
        let outer = ZipBuilder.zip([("logs/data.gz", Deflate.gzip(Self.zeros50MB))], method: .stored)
        try await Self.expectRejected(outer, reason: "Archive expands too much")
    }

    @Test func nestedTarGz_isOneLevelAndItsEntriesAreChecked() async throws {
        var good = TarBuilder()
        good.add("package/index.js", Array("module.exports = 1".utf8))
        let inner = ZipBuilder.zip([("vendor/pkg.tgz", Deflate.gzip(good.build()))])
        // pkg.tgz is level 2 inside inner.zip (level 1): still allowed.
        #expect(try await Self.upload(ZipBuilder.zip([("inner.zip", inner)])) == nil)

        var evil = TarBuilder()
        evil.add("../../outside", Array("x".utf8))
        let evilZip = ZipBuilder.zip([("vendor/pkg.tgz", Deflate.gzip(evil.build()))])
        try await Self.expectRejected(evilZip, reason: "Archive entry name is not allowed")

        var linked = TarBuilder()
        linked.add("link", [], type: UInt8(ascii: "2"), link: "/etc/passwd")
        try await Self.expectRejected(ZipBuilder.zip([("l.tar", linked.build())]), reason: "Archive must not contain links")
    }

    @Test func gzipOfGzip_isDecompressedThroughAndCountedToTheEnd() async throws {
        // libarchive chains the two gzip filters itself, so the pair is one level; what they expand to still counts.
        let twice = Deflate.gzip(Deflate.gzip(Self.zeros50MB))
        try await Self.expectRejected(ZipBuilder.zip([("a.gz.gz", twice)], method: .stored), reason: "Archive expands too much")
        #expect(try await Self.upload(ZipBuilder.zip([("b.gz.gz", Deflate.gzip(Deflate.gzip(Array("x".utf8))))])) == nil)
    }

    @Test func nestingThreeDeep_isRejected() async throws {
        let level3 = ZipBuilder.zip([("deep.txt", Array("deep".utf8))])
        let level2 = ZipBuilder.zip([("3.zip", level3)])
        let level1 = ZipBuilder.zip([("2.zip", level2)])
        let outer = ZipBuilder.zip([("1.zip", level1)])
        try await Self.expectRejected(outer, reason: "Archive is nested too deeply")
    }

    @Test func underDeclaredSizes_areNotTrusted() async throws {
        var limits = Self.sourceLimits
        limits.maxUnpackedBytes = 2_000_000
        var builder = ZipBuilder()
        builder.add("small.bin", randomBytes(3_000_000), method: .stored, declaredSize: 100)
        try await Self.expectRejected(builder.build(), limits: limits)

        var deflated = ZipBuilder()
        deflated.add("zeros.bin", Self.zeros50MB, declaredSize: 10)
        try await Self.expectRejected(deflated.build())
    }

    @Test func tooManyEntries_isRejected() async throws {
        var limits = Self.sourceLimits
        limits.maxEntries = 10
        let zip = ZipBuilder.zip((0..<11).map { ("f\($0)", [UInt8($0)]) })
        try await Self.expectRejected(zip, limits: limits, reason: "Archive has too many entries")
        #expect(try await Self.upload(ZipBuilder.zip((0..<10).map { ("f\($0)", [UInt8($0)]) }), limits: limits) == nil)
    }

    // MARK: Hostile entries

    @Test(arguments: ["../x", "/abs", "a\\b", "a/../../b", "..", "dir/..", "C:/windows", "..\\x", "a\u{1}b"])
    func traversalName_isRejected(name: String) async throws {
        let zip = ZipBuilder.zip([(name, Array("x".utf8))])
        try await Self.expectRejected(zip, reason: "Archive entry name is not allowed")
    }

    @Test func nameWithNULByte_isRejected() async throws {
        var builder = ZipBuilder()
        builder.add(rawName: Array("ok.txt".utf8) + [0] + Array("../../evil".utf8), Array("x".utf8))
        try await Self.expectRejected(builder.build(), reason: "Archive entry name is not allowed")
    }

    @Test func traversalName_insideNestedArchive_isRejected() async throws {
        let inner = ZipBuilder.zip([("../escape", Array("x".utf8))])
        try await Self.expectRejected(ZipBuilder.zip([("inner.zip", inner)]), reason: "Archive entry name is not allowed")
    }

    @Test func symlinkEntry_isRejected() async throws {
        var builder = ZipBuilder()
        builder.add("link", Array("/etc/passwd".utf8), method: .stored, unixMode: 0o120777)
        try await Self.expectRejected(builder.build(), reason: "Archive must not contain links")
    }

    @Test func deviceEntry_isRejected() async throws {
        var builder = ZipBuilder()
        builder.add("fifo", [], method: .stored, unixMode: 0o010644)
        try await Self.expectRejected(builder.build())
    }

    // MARK: Not a ZIP

    @Test func garbage_isRejected() async throws {
        try await Self.expectRejected(randomBytes(100_000), reason: "File is not a valid ZIP archive")
        try await Self.expectRejected([0x50, 0x4B, 0x03, 0x04] + randomBytes(5000))
    }

    @Test func emptyFile_isRejected() async throws {
        try await Self.expectRejected([])
    }

    @Test func truncatedZip_isRejected() async throws {
        let zip = ZipBuilder.zip([("a.bin", randomBytes(100_000)), ("b.txt", Array("b".utf8))])
        try await Self.expectRejected(Array(zip[..<(zip.count / 2)]))
        try await Self.expectRejected(Array(zip[..<(zip.count - 10)]))
    }

    @Test func corruptDeflateData_isRejected() async throws {
        var zip = ZipBuilder.zip([("a.txt", Array(String(repeating: "hello world ", count: 10_000).utf8))])
        for index in 60..<200 { zip[index] ^= 0x5A }
        try await Self.expectRejected(zip)
    }

    @Test func gzipAtTopLevel_isRejected() async throws {
        try await Self.expectRejected(Deflate.gzip(Array("x".utf8)), reason: "File is not a valid ZIP archive")
    }

    @Test func rejectionReason_neverQuotesTheEntryName() async throws {
        let error = try await Self.upload(ZipBuilder.zip([("../../etc/cron.d/evil", Array("x".utf8))]))
        let text = try #require(error).description
        #expect(!text.contains("cron"))
        #expect(!text.contains(".."))
    }
}

func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> ($0 * 8)) & 0xFF) } }
