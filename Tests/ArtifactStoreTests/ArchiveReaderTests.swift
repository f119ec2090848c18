import ArtifactStore
import Testing

@Suite("Reading small ZIPs in memory")
struct ArchiveReaderTests {
    static let limits = ArchiveLimits.defaults(forUploadLimit: 10 << 20)

    @Test func entries_ofCertsBundle_returnsRegularFilesInOrder() throws {
        var builder = ZipBuilder()
        builder.add("certs/", [], method: .stored, unixMode: 0o040755)
        builder.add("certs/dist.p12", [0x30, 0x82, 1, 2, 3])
        builder.add("certs/password.txt", Array("hunter2".utf8), method: .stored)
        builder.add("certs/app.mobileprovision", randomBytes(20_000))
        let entries = try ArchiveReader.entries(ofZip: builder.build(), limits: Self.limits)
        #expect(entries.map(\.name) == ["certs/dist.p12", "certs/password.txt", "certs/app.mobileprovision"])
        #expect(entries[0].contents == [0x30, 0x82, 1, 2, 3])
        #expect(entries[1].contents == Array("hunter2".utf8))
        #expect(entries[2].contents == builder.entries[3].contents)
    }

    @Test func entries_withNestedZip_keepsTheNestedZipWhole() throws {
        let inner = ZipBuilder.zip([("x.txt", Array("x".utf8))])
        let entries = try ArchiveReader.entries(ofZip: ZipBuilder.zip([("inner.zip", inner)]), limits: Self.limits)
        #expect(entries == [ArchiveEntry(name: "inner.zip", contents: inner)])
    }

    @Test(arguments: ["../p12", "/p12", "a\\b"])
    func entries_withTraversalName_throwsArchiveRejected(name: String) {
        let error = #expect(throws: ArtifactStoreError.self) {
            _ = try ArchiveReader.entries(ofZip: ZipBuilder.zip([(name, [1])]), limits: Self.limits)
        }
        #expect(error?.code == .archiveRejected)
        #expect(error?.reason == "Archive entry name is not allowed")
    }

    @Test func entries_ofBomb_throwsArchiveRejected() {
        let zip = ZipBuilder.zip([("zeros", [UInt8](repeating: 0, count: 20_000_000))])
        let error = #expect(throws: ArtifactStoreError.self) { _ = try ArchiveReader.entries(ofZip: zip, limits: Self.limits) }
        #expect(error?.reason == "Archive expands too much")
    }

    @Test func entries_ofGarbage_throwsArchiveRejected() {
        let error = #expect(throws: ArtifactStoreError.self) {
            _ = try ArchiveReader.entries(ofZip: randomBytes(1000), limits: Self.limits)
        }
        #expect(error?.code == .archiveRejected)
    }

    @Test func entries_withSymlink_throwsArchiveRejected() {
        var builder = ZipBuilder()
        builder.add("p12", Array("/etc/shadow".utf8), method: .stored, unixMode: 0o120777)
        #expect(throws: ArtifactStoreError.self) { _ = try ArchiveReader.entries(ofZip: builder.build(), limits: Self.limits) }
    }
}
