import Crypto
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Orchestrator
import Testing

@Suite struct IntegrityAndRetentionTests {
    typealias F = GatewayFixture

    private func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    @Test func submit_withTheRightChecksum_isKept_andAWrongOne_is400WithNothingLeft() async throws {
        try await F.run { f in
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

            let before = f.storedFiles().count
            let bad = try await f.multipart("/api/builds/submit", headers: F.key.merging([ClientChecksumName.header: String(repeating: "0", count: 64)]), form)
            #expect(bad.status == .badRequest)
            #expect(try await f.orchestrator.statistics().total == 1)
            #expect(f.storedFiles().filter { !$0.hasPrefix("tmp/") }.count == before)
            let malformed = try await f.multipart("/api/builds/submit", headers: F.key.merging([ClientChecksumName.header: "xyz"]), form)
            #expect(malformed.status == .badRequest)
        }
    }

    @Test func retention_deletesOldFiles_andKeepsTheRow() async throws {
        try await F.run(gateway: { $0.retention = .milliseconds(1) }) { f in
            let (id, token) = try await f.submit(platform: "android")
            let worker = try await f.registerWorker()
            _ = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token))
            var upload = MultipartBody()
            upload.field("build_id", id)
            upload.field("success", "true")
            upload.file("result", filename: "a.apk", ZipBuilder.result())
            #expect(try await f.multipart("/api/workers/upload", headers: F.workerToken(worker.token), upload).status == .ok)
            let (pending, _) = try await f.submit()
            try await Task.sleep(for: .milliseconds(20))
            #expect(await f.gateway.purgeExpiredArtifacts() == 1)
            let show = try await f.request(.get, "/api/builds/\(id)", headers: F.key).object()
            #expect(show["status"] as? String == "completed")
            #expect(show["has_result"] as? Bool == false)
            #expect(show["has_source"] as? Bool == false)
            #expect(try await f.request(.get, "/api/builds/\(id)/download", headers: F.buildToken(token)).status == .notFound)
            // The unfinished build keeps its source.
            #expect(try await f.request(.get, "/api/builds/\(pending)/download/source", headers: F.key).status == .ok)
            #expect(f.storedFiles().filter { $0.contains(id) }.isEmpty)
        }
    }
}

enum ClientChecksumName {
    static let header = HTTPField.Name("X-Checksum-SHA256")!
}
