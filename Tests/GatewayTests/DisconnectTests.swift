import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Orchestrator
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A client that goes away in the middle of an upload leaves nothing behind.
@Suite struct DisconnectTests {
    /// Sends `bytes` on a fresh loopback connection to `port`, then closes it without waiting for an answer.
    private func sendAndHangUp(port: Int, _ bytes: [UInt8]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        var sent = 0
        while sent < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            try #require(written > 0)
            sent += written
        }
    }

    @Test func submit_cutOffMidSource_leavesNoRowAndNoFile() async throws {
        try await GatewayFixture.run(.live) { f in
            let port = try #require(f.client.port)
            let boundary = "cut-\(UUID().uuidString)"
            var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"platform\"\r\n\r\nios\r\n".utf8)
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"source\"; filename=\"p.zip\"\r\nContent-Type: application/zip\r\n\r\n".utf8)
            body += [UInt8](repeating: 0x41, count: 3 * 1024 * 1024)
            // Promise 10 MiB, send about 3, hang up.
            let head = "POST /api/builds/submit HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: \(GatewayFixture.apiKey)\r\n"
                + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(10 * 1024 * 1024)\r\n\r\n"
            try sendAndHangUp(port: port, Array(head.utf8) + body)
            // The server notices the hang-up asynchronously: wait (bounded) until the temp file is gone.
            var leftovers = f.storedFiles()
            for _ in 0..<100 where !leftovers.isEmpty {
                try await Task.sleep(for: .milliseconds(50))
                leftovers = f.storedFiles()
            }
            #expect(leftovers.isEmpty, "left behind: \(leftovers)")
            #expect(try await f.orchestrator.statistics().total == 0)
        }
    }
}
