import ArtifactStore
import Foundation
import NIOCore
import TestSupport
import Testing

@Suite("Reading, ranges and housekeeping")
struct BlobReadingTests {
    static let size = 1_300_001

    /// First byte, last byte, slices across chunk (64 KiB) and batch (512 KiB) borders, and everything.
    static let ranges: [ClosedRange<Int64>] = [
        0...0, 0...9, 1...1, 65_535...65_536, 100_000...700_000, 524_287...524_288,
        1_300_000...1_300_000, 1_299_990...1_300_000, 0...1_300_000,
    ]

    @Test(arguments: TestBackend.allCases, ranges)
    func contents_ofRange_streamsExactlyThatSlice(backend: TestBackend, range: ClosedRange<Int64>) async throws {
        try await StoreFixture.with(backend) { fixture in
            let bytes = randomBytes(Self.size)
            let key = StoreFixture.key(.result)
            _ = try await fixture.put(bytes, at: key)
            let contents = try await fixture.store.contents(of: key, range: range)
            var chunkSizes: [Int] = []
            var received: [UInt8] = []
            for try await chunk in contents {
                chunkSizes.append(chunk.readableBytes)
                received += chunk.readableBytesView
            }
            #expect(received == Array(bytes[Int(range.lowerBound)...Int(range.upperBound)]))
            #expect(chunkSizes.allSatisfy { $0 > 0 && $0 <= 64 * 1024 })
        }
    }

    @Test(arguments: TestBackend.allCases)
    func contents_withoutRange_streamsWholeBlobTwiceFromOneSequence(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let bytes = randomBytes(200_000)
            let key = StoreFixture.key()
            _ = try await fixture.put(bytes, at: key)
            let contents = try await fixture.store.contents(of: key, range: nil)
            #expect(try await fixture.readAll(contents) == bytes)
            #expect(try await fixture.readAll(contents) == bytes)
        }
    }

    /// A batch's memory is read into again only once nothing holds its bytes: a consumer that keeps every chunk to
    /// the end (as a slow socket keeps its queued writes) finds each one as it was handed out, and so does one that
    /// takes whole batches.
    @Test(arguments: TestBackend.allCases)
    func contents_chunksKeptToTheEnd_areNeverOverwrittenByLaterReads(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let bytes = randomBytes(3_000_001)
            let key = StoreFixture.key(.result)
            _ = try await fixture.put(bytes, at: key)
            let contents = try await fixture.store.contents(of: key, range: nil)
            var kept: [ByteBuffer] = []
            for try await chunk in contents { kept.append(chunk) }
            #expect(kept.count > 16)
            #expect(kept.flatMap { Array($0.readableBytesView) } == bytes)

            var batches: [ByteBuffer] = []
            var iterator = contents.makeAsyncIterator()
            while let batch = try await iterator.nextBatch() { batches.append(batch) }
            #expect(batches.count > 2)
            #expect(batches.flatMap { Array($0.readableBytesView) } == bytes)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func contents_ofRangePastTheEnd_throwsInvalidRange(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            _ = try await fixture.put(randomBytes(10), at: key)
            let error = await #expect(throws: ArtifactStoreError.self) {
                _ = try await fixture.store.contents(of: key, range: 5...10)
            }
            #expect(error?.code == .invalidRange)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func contents_ofMissingBlob_throwsNotFoundBeforeStreaming(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let error = await #expect(throws: ArtifactStoreError.self) {
                _ = try await fixture.store.contents(of: StoreFixture.key(), range: nil)
            }
            #expect(error?.code == .notFound)
        }
    }

    @Test func contents_openedBeforeReplacement_keepsStreamingTheOpenedVersion() async throws {
        try await StoreFixture.with { fixture in
            let key = StoreFixture.key()
            let first = randomBytes(300_000)
            _ = try await fixture.put(first, at: key)
            let contents = try await fixture.store.contents(of: key, range: nil)
            _ = try await fixture.put(randomBytes(300_000), at: key)
            try await fixture.store.delete(key)
            #expect(try await fixture.readAll(contents) == first)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func readAll_ofBlobLargerThanMax_throwsTooLarge(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            _ = try await fixture.put(randomBytes(100), at: key)
            let error = await #expect(throws: ArtifactStoreError.self) {
                _ = try await fixture.store.readAll(key, maxBytes: 99)
            }
            #expect(error?.code == .tooLarge)
            let missing = await #expect(throws: ArtifactStoreError.self) {
                _ = try await fixture.store.readAll(StoreFixture.key(), maxBytes: 99)
            }
            #expect(missing?.code == .notFound)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func delete_removesBlobAndIsIdempotent(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let key = StoreFixture.key()
            _ = try await fixture.put(randomBytes(100), at: key)
            try await fixture.store.delete(key)
            try await fixture.store.delete(key)
            try await fixture.store.delete(StoreFixture.key(.certs))
            #expect(try await fixture.store.size(of: key) == nil)
            #expect(try await fixture.everything().isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func copy_toAnotherKey_isIdenticalAndIndependent(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let bytes = randomBytes(1_500_000)
            let source = StoreFixture.key()
            let destination = StoreFixture.key()
            let original = try await fixture.put(bytes, at: source)
            let copied = try await fixture.store.copy(source, to: destination)
            #expect(copied == original)
            try await fixture.store.delete(source)
            #expect(try await fixture.store.readAll(destination, maxBytes: 2_000_000) == bytes)
            #expect(try await fixture.leftovers().isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func copy_ofMissingBlob_throwsNotFoundAndWritesNothing(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let error = await #expect(throws: ArtifactStoreError.self) {
                _ = try await fixture.store.copy(StoreFixture.key(), to: StoreFixture.key())
            }
            #expect(error?.code == .notFound)
            let stored = try await fixture.everything()
            #expect(stored.isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func usage_countsCommittedBlobsOnly(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            _ = try await fixture.put(randomBytes(1000), at: StoreFixture.key(.source))
            _ = try await fixture.put(randomBytes(234), at: StoreFixture.key(.result))
            let inFlight = try await fixture.store.makeWriter(for: StoreFixture.key(), limit: .max)
            try await inFlight.write(ByteBuffer(bytes: randomBytes(6_000_000)))
            let usage = try await fixture.store.usage()
            #expect(usage.backend == backend.rawValue)
            #expect(usage.blobCount == 2)
            #expect(usage.bytesUsed == 1234)
            // A volume has free space to report; a bucket has none.
            #expect(backend == .s3 ? usage.freeBytes == nil : (usage.freeBytes ?? 0) > 0)
            await inFlight.abort()
        }
    }

    @Test(arguments: TestBackend.allCases)
    func checkWritable_onHealthyStore_succeedsAndLeavesNothing(backend: TestBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.store.checkWritable()
            #expect(try await fixture.everything().isEmpty)
        }
    }

    @Test func checkWritable_whenRootRemoved_throwsStorageUnavailable() async throws {
        try await StoreFixture.with { fixture in
            try FileManager.default.removeItem(atPath: fixture.root)
            let error = await #expect(throws: ArtifactStoreError.self) { try await fixture.store.checkWritable() }
            #expect(error?.code == .storageUnavailable)
        }
    }

    @Test func init_whenRootIsAFile_throwsStorageUnavailable() throws {
        let path = NSTemporaryDirectory() + "artifact-store-file-" + UUID().uuidString
        try Data("x".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ArtifactStoreError.self) { _ = try ArtifactStore(configuration: .init(root: path)) }
        #expect(error?.code == .storageUnavailable)
    }
}
