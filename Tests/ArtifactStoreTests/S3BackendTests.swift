import ArtifactStore
import Foundation
import Identifiers
import Logging
import NIOCore
import S3Storage
import TestSupport
import Testing

/// What only the S3 driver does: multipart uploads, staged inspection over ranged GETs, the sweeper's clock, and
/// the bucket's own checks. Everything the two backends share runs in the other suites with both.
@Suite("The S3 driver against moto")
struct S3BackendTests {
    @Test func largeUpload_goesUpInPartsAndReadsBackWhole() async throws {
        try await StoreFixture.with(.s3) { fixture in
            let bytes = randomBytes(12_000_000)
            let key = StoreFixture.key(.result)
            let info = try await fixture.put(bytes, at: key, chunk: 100_000)
            #expect(info == BlobInfo(size: 12_000_000, sha256: sha256Hex(bytes)))
            #expect(try await fixture.store.readAll(key, maxBytes: 13_000_000) == bytes)
            // Only the blob is left: no staging object, no unfinished upload.
            #expect(try await fixture.everything() == [fixture.s3!.configuration.prefix + "blobs/" + key.description])
            // A range across the first part's end (parts are 5 MiB here) is served exactly.
            let range: ClosedRange<Int64> = 5_242_000...5_243_000
            let slice = try await fixture.readAll(try await fixture.store.contents(of: key, range: range))
            #expect(slice == Array(bytes[Int(range.lowerBound)...Int(range.upperBound)]))
        }
    }

    @Test func largeArchive_isInspectedThroughRangedReadsOfTheStagedObject() async throws {
        try await StoreFixture.with(.s3) { fixture in
            var builder = ZipBuilder()
            builder.add("app/package.json", Array(#"{"name":"app"}"#.utf8))
            builder.add("app/assets/video.bin", randomBytes(7_000_000), method: .stored)
            builder.add("app/src/index.ts", Array(String(repeating: "export const x = 1;\n", count: 5000).utf8))
            let zip = builder.build()
            let key = StoreFixture.key(.source)
            let limits = ArchiveLimits.defaults(forUploadLimit: 500 << 20)
            _ = try await fixture.put(zip, at: key, chunk: 64 * 1024, inspect: limits)
            #expect(try await fixture.store.size(of: key) == Int64(zip.count))
            #expect(try await fixture.leftovers().isEmpty)

            var hostile = ZipBuilder()
            hostile.add("app/assets/video.bin", randomBytes(7_000_000), method: .stored)
            hostile.add("../../etc/passwd", Array("x".utf8))
            let rejectedKey = StoreFixture.key(.source)
            let error = await #expect(throws: ArtifactStoreError.self) {
                _ = try await fixture.put(hostile.build(), at: rejectedKey, chunk: 64 * 1024, inspect: limits)
            }
            #expect(error?.code == .archiveRejected)
            #expect(try await fixture.store.size(of: rejectedKey) == nil)
            #expect(try await fixture.leftovers().isEmpty)
        }
    }

    @Test func sweeper_abortsOnlyUploadsOlderThanItsAgeByTheirOwnClock() async throws {
        let prefix = try MotoEnvironment.configuration().prefix
        // Two stores on one prefix: one keeps the default age (a day), one treats everything started before now
        // as abandoned (moto reports every upload as started in 2010, so the age must come from our own key).
        try await StoreFixture.with(.s3, configure: { $0.prefix = prefix }) { patient in
            try await StoreFixture.with(.s3, configure: { $0.prefix = prefix; $0.staleUploadAge = .zero }) { eager in
                let key = StoreFixture.key()
                do {
                    let writer = try await patient.store.makeWriter(for: key, limit: .max)
                    try await writer.write(ByteBuffer(bytes: randomBytes(6_000_000)))
                    #expect(try await patient.leftoversSettle(at: 1))
                    // Dropped without commit or abort: what a crash leaves in the bucket.
                }
                #expect(try await patient.store.sweepTemporaryFiles() == 0)
                #expect(try await patient.leftovers().count == 1)
                // The key's clock has whole seconds: let one pass so the upload is older than "now".
                try await Task.sleep(for: .milliseconds(1100))
                #expect(try await eager.store.sweepTemporaryFiles() == 1)
                #expect(try await eager.leftovers().isEmpty)
                #expect(try await patient.store.size(of: key) == nil)
            }
        }
    }

    @Test func wrongSecret_isRefusedByTheBucket_andReportedAsStorageUnavailable() async throws {
        let configuration = try MotoEnvironment.configuration(secretOverride: "not-the-secret")
        let store = ArtifactStore(
            configuration: .init(root: ""),
            backend: S3Backend(client: MotoEnvironment.client(configuration), logger: .init(label: "s3-test")))
        let error = await #expect(throws: ArtifactStoreError.self) { try await store.checkWritable() }
        #expect(error?.code == .storageUnavailable)
        // moto checks signatures: the refusal names the signature, so a signing bug fails tests like this one.
        #expect((error?.underlying as? S3Error)?.s3Code == "SignatureDoesNotMatch")
        // The client-safe description names neither the key nor S3's message.
        #expect(!"\(error!)".contains("not-the-secret"))
    }

    @Test func unreachableBucket_isStorageUnavailable_soHealthAnswers503() async throws {
        var configuration = try MotoEnvironment.configuration()
        // A port nothing listens on (bound, then closed), and few retries, so the test stays quick.
        configuration.port = try ClosedPort.make()
        configuration.maximumAttempts = 2
        configuration.requestTimeout = .seconds(5)
        let store = ArtifactStore(
            configuration: .init(root: ""),
            backend: S3Backend(client: MotoEnvironment.client(configuration), logger: .init(label: "s3-test")))
        let error = await #expect(throws: ArtifactStoreError.self) { try await store.checkWritable() }
        #expect(error?.code == .storageUnavailable)
        #expect((error?.underlying as? S3Error)?.code == .unreachable)
        let sizeError = await #expect(throws: ArtifactStoreError.self) { _ = try await store.size(of: StoreFixture.key()) }
        #expect(sizeError?.code == .storageUnavailable)
    }

    @Test func blobReplacedMidDownload_failsTheDownloadInsteadOfMixingVersions() async throws {
        try await StoreFixture.with(.s3) { fixture in
            let key = StoreFixture.key()
            _ = try await fixture.put(randomBytes(300_000), at: key)
            let contents = try await fixture.store.contents(of: key, range: nil)
            _ = try await fixture.put(randomBytes(300_000), at: key)
            // A bucket without versioning cannot serve the opened version after a replacement; If-Match makes the
            // download fail rather than hand out a mix (the filesystem keeps serving the opened file).
            await #expect(throws: (any Error).self) { _ = try await fixture.readAll(contents) }
        }
    }

    @Test func presignedURL_isSignedForTheBlobAndExpires() async throws {
        try await StoreFixture.with(.s3) { fixture in
            let key = StoreFixture.key(.result)
            let url = try #require(
                fixture.store.presignedDownloadURL(
                    for: key, expiresIn: .seconds(120), fileName: "app.ipa", contentType: "application/octet-stream"))
            #expect(url.contains("blobs/result/" + key.build.rawValue + "?"))
            #expect(url.contains("X-Amz-Expires=120"))
            #expect(url.contains("X-Amz-Signature="))
            #expect(url.contains("response-content-disposition="))
        }
    }

    @Test func filesystemBackend_hasNoPresignedURL() async throws {
        try await StoreFixture.with(.filesystem) { fixture in
            #expect(
                fixture.store.presignedDownloadURL(
                    for: StoreFixture.key(), expiresIn: .seconds(60), fileName: "x", contentType: "y") == nil)
        }
    }
}

/// A loopback port that was free a moment ago: connections to it are refused.
enum ClosedPort {
    static func make() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
