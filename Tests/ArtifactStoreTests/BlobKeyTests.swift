import ArtifactStore
import Foundation
import Identifiers
import NIOCore
import Testing

@Suite("Keys, layout and planted symlinks")
struct BlobKeyTests {
    /// What a client could send as a build id in a path, hoping to reach outside the store.
    static let hostileIDs = [
        "../x", "../../etc/passwd", "/etc/passwd", "..", ".", "a/b", "a\\b", "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f", "%252e%252e%252f", "..%00", "a\0b", "\0", "", " ", "a b", "é", "a.b",
        String(repeating: "a", count: 65), String(repeating: "A", count: 300),
    ]

    @Test(arguments: hostileIDs)
    func hostileID_cannotBecomeAKey_soTheStoreNeverSeesIt(text: String) async throws {
        try await StoreFixture.with { fixture in
            // The only way into the store is a BlobKey, and a BlobKey needs a BuildID.
            #expect(BuildID(text) == nil)
            let written = try await Self.writeIfValid(text, bytes: [1, 2, 3], store: fixture.store)
            #expect(written == false)
            #expect(fixture.files().isEmpty)
        }
    }

    /// The shape of the Gateway's call: parse, then store.
    static func writeIfValid(_ text: String, bytes: [UInt8], store: ArtifactStore) async throws -> Bool {
        guard let build = BuildID(text) else { return false }
        _ = try await store.write(bytes, to: BlobKey(build: build, kind: .source))
        return true
    }

    @Test(arguments: ["a", "-", "_", "--", "__x", String(repeating: "z", count: 64)])
    func edgeValidID_isStoredUnderItsShard(text: String) async throws {
        try await StoreFixture.with { fixture in
            let written = try await Self.writeIfValid(text, bytes: [9], store: fixture.store)
            #expect(written)
            let shard = String(text.prefix(2))
            #expect(fixture.files() == ["blobs/source/\(shard)/\(text)"])
        }
    }

    @Test func kinds_areSeparate() async throws {
        try await StoreFixture.with { fixture in
            let build = BuildID.random()
            _ = try await fixture.store.write([1], to: BlobKey(build: build, kind: .source))
            #expect(try await fixture.store.size(of: BlobKey(build: build, kind: .result)) == nil)
            #expect(try await fixture.store.size(of: BlobKey(build: build, kind: .certs)) == nil)
        }
    }

    @Test func plantedSymlinkAtBlobName_isNeverFollowedForReading() async throws {
        try await StoreFixture.with { fixture in
            let key = StoreFixture.key()
            let secret = try Self.outsideFile(fixture, contents: "secret")
            defer { try? FileManager.default.removeItem(atPath: secret) }
            try Self.plant(symlinkAt: fixture.blobPath(key), to: secret)
            #expect(try await fixture.store.size(of: key) == nil)
            let error = await #expect(throws: ArtifactStoreError.self) {
                _ = try await fixture.store.contents(of: key, range: nil)
            }
            #expect(error?.code == .notFound)
            await #expect(throws: ArtifactStoreError.self) { _ = try await fixture.store.readAll(key, maxBytes: 100) }
        }
    }

    @Test func plantedSymlinkAtBlobName_isReplacedNotWrittenThrough() async throws {
        try await StoreFixture.with { fixture in
            let key = StoreFixture.key()
            let victim = try Self.outsideFile(fixture, contents: "untouched")
            defer { try? FileManager.default.removeItem(atPath: victim) }
            try Self.plant(symlinkAt: fixture.blobPath(key), to: victim)
            _ = try await fixture.put(Array("new".utf8), at: key)
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "untouched")
            #expect(try await fixture.store.readAll(key, maxBytes: 10) == Array("new".utf8))
        }
    }

    @Test func plantedSymlinkAsShardFolder_isNeverFollowed() async throws {
        try await StoreFixture.with { fixture in
            let key = StoreFixture.key()
            let outside = fixture.root + "-outside-folder"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: outside) }
            try Data("secret".utf8).write(to: URL(fileURLWithPath: outside + "/" + key.build.rawValue))
            let shardFolder = (fixture.blobPath(key) as NSString).deletingLastPathComponent
            try Self.plant(symlinkAt: shardFolder, to: outside)

            #expect(try await fixture.store.size(of: key) == nil)
            await #expect(throws: ArtifactStoreError.self) { _ = try await fixture.store.contents(of: key, range: nil) }
            await #expect(throws: ArtifactStoreError.self) { _ = try await fixture.put([1, 2], at: key) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == [key.build.rawValue])
            #expect(try String(contentsOfFile: outside + "/" + key.build.rawValue, encoding: .utf8) == "secret")
            #expect(fixture.temporaryFiles.isEmpty)
        }
    }

    @Test func plantedFIFOAtBlobName_isNotABlobAndDoesNotHang() async throws {
        try await StoreFixture.with { fixture in
            let key = StoreFixture.key()
            let path = fixture.blobPath(key)
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            #expect(mkfifo(path, 0o600) == 0)
            #expect(try await fixture.store.size(of: key) == nil)
            await #expect(throws: ArtifactStoreError.self) { _ = try await fixture.store.contents(of: key, range: nil) }
        }
    }

    @Test func errorDescription_namesCodeAndKeyButNoPath() async throws {
        try await StoreFixture.with { fixture in
            let key = StoreFixture.key()
            let error = await #expect(throws: ArtifactStoreError.self) { _ = try await fixture.store.readAll(key, maxBytes: 1) }
            let description = try #require(error).description
            #expect(description.contains("notFound"))
            #expect(description.contains(key.build.rawValue))
            #expect(!description.contains(fixture.root))
            #expect(!description.contains("/tmp"))
        }
    }

    static func outsideFile(_ fixture: StoreFixture, contents: String) throws -> String {
        let path = fixture.root + "-outside-" + UUID().uuidString
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func plant(symlinkAt path: String, to target: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
    }
}
