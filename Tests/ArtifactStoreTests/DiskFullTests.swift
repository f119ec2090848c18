import ArtifactStore
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("A full disk")
struct DiskFullTests {
    @Test func write_whenDiskFills_throwsStorageUnavailableAndLeavesNothing() async throws {
        #if os(Linux)
        let mountPoint = NSTemporaryDirectory() + "artifact-store-full-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=1m") == 0 else {
            // CI runs as root, where this works; a test that cannot fail is a defect, so say so loudly.
            Issue.record("cannot mount a 1 MiB tmpfs (errno \(errno)): run the tests as root to check a full disk")
            return
        }
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }

        let store = try ArtifactStore(configuration: .init(root: mountPoint + "/store"))
        let key = StoreFixture.key(.result)
        let writer = try await store.makeWriter(for: key, limit: .max)
        let error = await #expect(throws: ArtifactStoreError.self) {
            for _ in 0..<40 { try await writer.write(ByteBuffer(bytes: randomBytes(100_000))) }
            _ = try await writer.commit(expectedSHA256: nil, inspect: nil)
        }
        #expect(error?.code == .storageUnavailable)
        #expect(try await store.size(of: key) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint + "/store/tmp").isEmpty)

        // The space was given back: a small write fits again.
        let small = try await store.write([1, 2, 3], to: key)
        #expect(small.size == 3)
        #else
        Issue.record("the full-disk test needs Linux tmpfs")
        #endif
    }
}
