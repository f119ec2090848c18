import ArtifactStore
import Foundation
import NIOCore
import TestSupport
import Testing

@Suite("Streaming writes")
struct BlobWriterTests {
    @Test(arguments: TestBackend.allCases)
    func commit_afterStreamedChunks_storesBytesAndReportsSizeAndSHA256(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let bytes = randomBytes(3_000_000)
            let key = StoreFixture.key()
            let info = try await fixture.put(bytes, at: key, chunk: 7_777)
            #expect(info == BlobInfo(size: 3_000_000, sha256: sha256Hex(bytes)))
            #expect(try await fixture.store.readAll(key, maxBytes: 4_000_000) == bytes)
            #expect(try await fixture.leftovers().isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func commit_ofEmptyBlob_storesZeroBytes(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            let writer = try await fixture.store.makeWriter(for: key, limit: 10)
            let info = try await writer.commit(expectedSHA256: nil, inspect: nil)
            #expect(info == BlobInfo(size: 0, sha256: sha256Hex([])))
            #expect(try await fixture.store.size(of: key) == 0)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func write_whenLimitCrossed_throwsTooLargeAndLeavesNothing(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            // Past one S3 part (5 MiB in tests), so the bucket holds a multipart upload to abort.
            let writer = try await fixture.store.makeWriter(for: key, limit: 6_500_000)
            try await writer.write(ByteBuffer(bytes: randomBytes(6_000_000)))
            #expect(try await fixture.leftoversSettle(at: 1))
            await #expect(throws: ArtifactStoreError.self) {
                try await writer.write(ByteBuffer(bytes: randomBytes(600_000)))
            }
            #expect(try await fixture.leftovers().isEmpty)
            #expect(try await fixture.store.size(of: key) == nil)
            let late = await #expect(throws: ArtifactStoreError.self) {
                _ = try await writer.commit(expectedSHA256: nil, inspect: nil)
            }
            #expect(late?.code == .ioFailure)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func write_exactlyAtLimit_isAccepted(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            let writer = try await fixture.store.makeWriter(for: key, limit: 1000)
            try await writer.write(ByteBuffer(bytes: randomBytes(1000)))
            let info = try await writer.commit(expectedSHA256: nil, inspect: nil)
            #expect(info.size == 1000)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func write_crossingLimit_reportsTooLargeCode(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let writer = try await fixture.store.makeWriter(for: StoreFixture.key(), limit: 10)
            let error = await #expect(throws: ArtifactStoreError.self) {
                try await writer.write(ByteBuffer(bytes: randomBytes(11)))
            }
            #expect(error?.code == .tooLarge)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func abort_midway_leavesNothingVisibleAndIsIdempotent(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            let writer = try await fixture.store.makeWriter(for: key, limit: .max)
            try await writer.write(ByteBuffer(bytes: randomBytes(6_000_000)))
            await writer.abort()
            await writer.abort()
            #expect(try await fixture.everything().isEmpty)
            #expect(try await fixture.store.size(of: key) == nil)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func commit_withWrongExpectedSHA256_throwsChecksumMismatchAndLeavesNothing(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            let writer = try await fixture.store.makeWriter(for: key, limit: .max)
            try await writer.write(ByteBuffer(bytes: randomBytes(1000)))
            let error = await #expect(throws: ArtifactStoreError.self) {
                _ = try await writer.commit(expectedSHA256: String(repeating: "0", count: 64), inspect: nil)
            }
            #expect(error?.code == .checksumMismatch)
            #expect(try await fixture.everything().isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func commit_withMatchingExpectedSHA256InUppercase_succeeds(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let bytes = randomBytes(1000)
            let writer = try await fixture.store.makeWriter(for: StoreFixture.key(), limit: .max)
            try await writer.write(ByteBuffer(bytes: bytes))
            let info = try await writer.commit(expectedSHA256: sha256Hex(bytes).uppercased(), inspect: nil)
            #expect(info.sha256 == sha256Hex(bytes))
        }
    }

    @Test func writer_droppedWithoutCommitOrAbort_leavesNoBlobAndItsTemporaryFileIsSwept() async throws {
        try await StoreFixture.with { fixture in
            let key = StoreFixture.key()
            do {
                let writer = try await fixture.store.makeWriter(for: key, limit: .max)
                try await writer.write(ByteBuffer(bytes: randomBytes(2_000_000)))
            }
            #expect(try await fixture.store.size(of: key) == nil)
            #expect(fixture.temporaryFiles.count == 1)
            // The batch the writer had handed to the thread pool holds the file until its write returns.
            var swept = 0
            for _ in 0..<200 where swept == 0 {
                swept = try await fixture.store.sweepTemporaryFiles()
                if swept == 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(swept == 1)
            #expect(fixture.files().isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func sweep_leavesWritesInFlightAlone(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            let writer = try await fixture.store.makeWriter(for: key, limit: .max)
            try await writer.write(ByteBuffer(bytes: randomBytes(6_000_000)))
            #expect(try await fixture.leftoversSettle(at: 1))
            #expect(try await fixture.store.sweepTemporaryFiles() == 0)
            try await writer.write(ByteBuffer(bytes: randomBytes(10)))
            let info = try await writer.commit(expectedSHA256: nil, inspect: nil)
            #expect(try await fixture.store.size(of: key) == info.size)
        }
    }

    @Test func sweep_removesLeftoversOfACrashedProcess() async throws {
        try await StoreFixture.with { fixture in
            // A crashed process leaves unlocked files; a symlink there is removed, never followed.
            let target = fixture.root + "-outside"
            try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
            defer { try? FileManager.default.removeItem(atPath: target) }
            try Data(count: 100).write(to: URL(fileURLWithPath: fixture.root + "/tmp/left.part"))
            try FileManager.default.createSymbolicLink(atPath: fixture.root + "/tmp/link.part", withDestinationPath: target)
            #expect(try await fixture.store.sweepTemporaryFiles() == 2)
            #expect(fixture.temporaryFiles.isEmpty)
            #expect(FileManager.default.fileExists(atPath: target))
        }
    }

    @Test func temporaryFile_isPrivateToTheOwner() async throws {
        try await StoreFixture.with { fixture in
            let writer = try await fixture.store.makeWriter(for: StoreFixture.key(), limit: .max)
            try await writer.write(ByteBuffer(bytes: randomBytes(2_000_000)))
            let name = try #require(fixture.temporaryFiles.first)
            let attributes = try FileManager.default.attributesOfItem(atPath: fixture.root + "/tmp/" + name)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            await writer.abort()
        }
    }

    @Test(arguments: TestBackend.allCases)
    func write_smallBlobInOneCall_isAtomicAndReadable(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key(.certs)
            let bytes = randomBytes(5000)
            let info = try await fixture.store.write(bytes, to: key)
            #expect(info.sha256 == sha256Hex(bytes))
            #expect(try await fixture.store.readAll(key, maxBytes: 5000) == bytes)
            // Replacing is atomic too: the new bytes, never a mix.
            let replacement = randomBytes(10)
            _ = try await fixture.store.write(replacement, to: key)
            #expect(try await fixture.store.readAll(key, maxBytes: 5000) == replacement)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func concurrentWriters_toOneKey_leaveOneWholeVersion(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            let versions = (0..<4).map { _ in randomBytes(1_200_000) }
            try await withThrowingTaskGroup(of: BlobInfo.self) { group in
                for version in versions {
                    group.addTask { try await fixture.put(version, at: key, chunk: 50_000) }
                }
                for try await _ in group {}
            }
            let stored = try await fixture.store.readAll(key, maxBytes: 2_000_000)
            #expect(versions.contains(stored))
            #expect(try await fixture.leftovers().isEmpty)
        }
    }
}
