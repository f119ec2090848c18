import Crypto
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Orchestrator
import TestSupport
import Testing

@Suite struct IntegrityAndRetentionTests {
    typealias F = GatewayFixture

    private func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    @Test(arguments: TestBackend.allCases)
    func submit_withTheRightChecksum_isKept_andAWrongOne_is400WithNothingLeft(storage: TestBackend) async throws {
        try await F.run(storage: storage) { f in
            let source = ZipBuilder.source("checked")
            var form = MultipartBody()
            form.file("source", filename: "p.zip", source)
            form.field("platform", "android")
            let good = try await f.multipart("/api/builds/submit", headers: F.key.merging([ClientChecksumName.header: hex(source)]), form)
            #expect(good.status == .ok)
            let id = try #require(try good.object()["id"] as? String)
            let download = try await f.request(.get, "/api/builds/\(id)/download/source", headers: F.key)
            #expect(download.headers[.eTag] == "\"\(hex(source))\"")
            #expect(download.headers[ClientChecksumName.header] == hex(source))

            let before = try await f.storedObjects()
            #expect(before.count == 1 && before[0].contains(id), "\(before)")
            let bad = try await f.multipart("/api/builds/submit", headers: F.key.merging([ClientChecksumName.header: String(repeating: "0", count: 64)]), form)
            #expect(bad.status == .badRequest)
            #expect(try await f.orchestrator.statistics().total == 1)
            #expect(try await f.storedObjects() == before)
            let leftovers = try await f.settledLeftovers()
            #expect(leftovers.isEmpty, "left behind: \(leftovers)")
            let malformed = try await f.multipart("/api/builds/submit", headers: F.key.merging([ClientChecksumName.header: "xyz"]), form)
            #expect(malformed.status == .badRequest)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func retention_deletesOldFiles_andKeepsTheRow(storage: TestBackend) async throws {
        try await F.run(storage: storage, gateway: { $0.retention = .milliseconds(1) }) { f in
            let (id, token) = try await f.submit(platform: "android")
            let worker = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            var upload = MultipartBody()
            upload.field("build_id", id)
            upload.field("success", "true")
            upload.file("result", filename: "a.apk", ZipBuilder.result())
            #expect(try await f.multipart("/api/workers/upload", headers: F.workerToken(worker.token), upload).status == .ok)
            let (pending, _) = try await f.submit()
            // Source and result of the finished build are stored, and so is the pending build's source.
            #expect(try await f.storedObjects().filter { $0.contains(id) }.count == 2)
            try await Task.sleep(for: .milliseconds(20))
            #expect(await f.gateway.purgeExpiredArtifacts() == 1)
            let show = try await f.request(.get, "/api/builds/\(id)", headers: F.key).object()
            #expect(show["status"] as? String == "completed")
            #expect(show["has_result"] as? Bool == false)
            #expect(show["has_source"] as? Bool == false)
            #expect(try await f.request(.get, "/api/builds/\(id)/download", headers: F.buildToken(token)).status == .notFound)
            // The unfinished build keeps its source.
            #expect(try await f.request(.get, "/api/builds/\(pending)/download/source", headers: F.key).status == .ok)
            let stored = try await f.storedObjects()
            #expect(stored.filter { $0.contains(id) }.isEmpty, "\(stored)")
            #expect(stored.filter { $0.contains(pending) }.count == 1, "\(stored)")
        }
    }

    /// A result larger than one S3 part (5 MiB in the tests): ranges across the part boundary, open-ended and
    /// suffix ranges, 416, If-Range with the current and another ETag, and HEAD, all with the recorded checksum.
    @Test(arguments: TestBackend.allCases)
    func resultDownload_rangesIfRangeHeadAndChecksum_onAMultipartResult(storage: TestBackend) async throws {
        try await F.run(storage: storage) { f in
            let (id, token) = try await f.submit(platform: "android")
            let worker = try await f.registerWorker(platforms: ["android"])
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            let result = ZipBuilder.zip([("assets/big.bin", Self.noise((6 << 20) + 12_345))])
            var upload = MultipartBody()
            upload.field("build_id", id)
            upload.field("success", "true")
            upload.file("result", filename: "a.apk", result)
            let uploaded = try await f.multipart("/api/workers/upload", headers: F.workerToken(worker.token), upload)
            #expect(uploaded.status == .ok, "\(String(buffer: uploaded.body))")

            let headers = F.buildToken(token)
            let path = "/api/builds/\(id)/download"
            let size = result.count
            let whole = try await f.request(.get, path, headers: headers)
            #expect(whole.status == .ok)
            #expect(whole.bytes == result)
            #expect(whole.headers[.eTag] == "\"\(hex(result))\"")
            #expect(whole.headers[ClientChecksumName.header] == hex(result))
            #expect(whole.headers[.contentDisposition] == "attachment; filename=\"\(id).apk\"")

            let head = try await f.request(.head, path, headers: headers)
            #expect(head.status == .ok)
            #expect(head.body.readableBytes == 0)
            #expect(head.headers[.contentLength] == "\(size)")
            #expect(head.headers[.acceptRanges] == "bytes")
            #expect(head.headers[.eTag] == "\"\(hex(result))\"")
            #expect(head.headers[ClientChecksumName.header] == hex(result))

            // Across the boundary of the first 5 MiB part.
            let (lower, upper) = ((5 << 20) - 100, (5 << 20) + 99)
            let across = try await f.request(.get, path, headers: headers.merging([.range: "bytes=\(lower)-\(upper)"]))
            #expect(across.status == .partialContent)
            #expect(across.bytes == Array(result[lower...upper]))
            #expect(across.headers[.contentRange] == "bytes \(lower)-\(upper)/\(size)")
            #expect(across.headers[.contentLength] == "200")
            let open = try await f.request(.get, path, headers: headers.merging([.range: "bytes=\(size - 10)-"]))
            #expect(open.status == .partialContent)
            #expect(open.bytes == Array(result.suffix(10)))
            let suffix = try await f.request(.get, path, headers: headers.merging([.range: "bytes=-7"]))
            #expect(suffix.bytes == Array(result.suffix(7)))
            #expect(suffix.headers[.contentRange] == "bytes \(size - 7)-\(size - 1)/\(size)")
            let beyond = try await f.request(.get, path, headers: headers.merging([.range: "bytes=\(size)-"]))
            #expect(beyond.status == .rangeNotSatisfiable)
            #expect(beyond.headers[.contentRange] == "bytes */\(size)")

            // If-Range: the current ETag keeps the Range; another one gets the whole file.
            let current = try await f.request(
                .get, path, headers: headers.merging([.range: "bytes=0-9", .ifRange: "\"\(hex(result))\""]))
            #expect(current.status == .partialContent)
            #expect(current.bytes == Array(result[0...9]))
            let stale = try await f.request(
                .get, path, headers: headers.merging([.range: "bytes=0-9", .ifRange: "\"\(String(repeating: "0", count: 64))\""]))
            #expect(stale.status == .ok)
            #expect(stale.bytes == result)
            let headRange = try await f.request(.head, path, headers: headers.merging([.range: "bytes=100-199"]))
            #expect(headRange.status == .partialContent)
            #expect(headRange.headers[.contentLength] == "100")
            #expect(headRange.body.readableBytes == 0)
        }
    }

    /// A result upload (larger than one S3 part) with the wrong X-Checksum-SHA256 is 400 and leaves nothing; the
    /// holder's upload with the right one then completes the build.
    @Test(arguments: TestBackend.allCases)
    func resultUpload_withAWrongChecksum_is400WithNothingLeft_andTheRightOneCompletes(storage: TestBackend) async throws {
        try await F.run(storage: storage) { f in
            let (id, token) = try await f.submit(platform: "android")
            let worker = try await f.registerWorker(platforms: ["android"])
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            let result = ZipBuilder.zip([("assets/big.bin", Self.noise((5 << 20) + 4_321))])
            var upload = MultipartBody()
            upload.field("build_id", id)
            upload.field("success", "true")
            upload.file("result", filename: "a.apk", result)
            let wrong = F.workerToken(worker.token).merging([ClientChecksumName.header: String(repeating: "a", count: 64)])
            let refused = try await f.multipart("/api/workers/upload", headers: wrong, upload)
            #expect(refused.status == .badRequest, "\(String(buffer: refused.body))")
            #expect(try await f.orchestrator.build(id)?.status == .assigned)
            #expect(try await f.storedObjects().filter { $0.hasPrefix("blobs/result/") }.isEmpty)
            let leftovers = try await f.settledLeftovers()
            #expect(leftovers.isEmpty, "left behind: \(leftovers)")

            let right = F.workerToken(worker.token).merging([ClientChecksumName.header: hex(result)])
            #expect(try await f.multipart("/api/workers/upload", headers: right, upload).status == .ok)
            #expect(try await f.request(.get, "/api/builds/\(id)/download", headers: F.buildToken(token)).bytes == result)
            #expect(try await f.storedObjects().filter { $0.hasPrefix("blobs/result/") }.count == 1)
            #expect(try await f.settledLeftovers().isEmpty)
        }
    }

    /// Incompressible bytes (a ZIP of them is as large as they are), eight at a time.
    static func noise(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        for index in stride(from: 0, to: count, by: 8) {
            withUnsafeBytes(of: generator.next()) { word in
                for offset in 0..<min(8, count - index) { bytes[index + offset] = word[offset] }
            }
        }
        return bytes
    }
}

enum ClientChecksumName {
    static let header = HTTPField.Name("X-Checksum-SHA256")!
}
