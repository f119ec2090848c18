import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Orchestrator
import TestSupport
import Testing

@testable import Gateway

/// A client that goes away in the middle of an upload leaves nothing behind.
@Suite struct DisconnectTests {
    /// On S3 the cut-off upload is already a multipart upload (7 MiB sent, parts of 5 MiB): it must be aborted at
    /// once, not left for the sweeper.
    @Test(arguments: TestBackend.allCases)
    func submit_cutOffMidSource_leavesNoRowAndNoFile(storage: TestBackend) async throws {
        try await GatewayFixture.run(.live, storage: storage) { f in
            let port = try #require(f.client.port)
            let boundary = "cut-\(UUID().uuidString)"
            var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"platform\"\r\n\r\nios\r\n".utf8)
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"source\"; filename=\"p.zip\"\r\nContent-Type: application/zip\r\n\r\n".utf8)
            body += [UInt8](repeating: 0x41, count: 7 * 1024 * 1024)
            // Promise 10 MiB, send about 7 (through NIO: a blocking send(2) on one of the few cooperative threads
            // could starve the server that should read it).
            let head = "POST /api/builds/submit HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: \(GatewayFixture.apiKey)\r\n"
                + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(10 * 1024 * 1024)\r\n\r\n"
            let connection = try await RawConnection.open(port: port)
            try await connection.channel.channel.writeAndFlush(ByteBuffer(bytes: Array(head.utf8) + body))
            // Hang up only once the upload is staged (a temporary file; a multipart upload with its first part),
            // so that the cleanup below is proven, not just never needed.
            let slots = f.gateway.routeGuard.uploads
            var staged = try await f.storeLeftovers()
            for _ in 0..<400 where staged.isEmpty {
                try await Task.sleep(for: .milliseconds(50))
                staged = try await f.storeLeftovers()
            }
            try #require(!staged.isEmpty, "the upload was never staged")
            #expect(slots.count(for: GatewayFixture.apiKey) == 1)
            try await connection.close()
            // The server notices the hang-up asynchronously: its upload ends (the slot is free) after the cleanup.
            for _ in 0..<400 where slots.count(for: GatewayFixture.apiKey) > 0 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(slots.count(for: GatewayFixture.apiKey) == 0, "the upload did not end")
            let leftovers = try await f.settledLeftovers()
            #expect(leftovers.isEmpty, "left behind: \(leftovers) (staged were \(staged))")
            let everything = try await f.storedEverything()
            #expect(everything.isEmpty, "stored: \(everything)")
            #expect(try await f.orchestrator.statistics().total == 0)
        }
    }
}
