import AWSSigV4
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The S3 calls the store uses, one method each, signed with SigV4 and sent with async-http-client.
///
/// Idempotent calls (GET, HEAD, PUT, DELETE) are retried with exponential backoff and jitter when the bucket does
/// not answer, answers 5xx, or asks to slow down; POSTs (create and complete a multipart upload) are sent once.
public struct S3Client: Sendable {
    /// An object's listing entry.
    public struct ListedObject: Sendable, Equatable {
        /// The whole object key, prefix included.
        public var key: String
        /// The object's size in bytes.
        public var size: Int64
    }

    /// An unfinished multipart upload's listing entry.
    public struct ListedUpload: Sendable, Equatable {
        /// The object key the upload will create.
        public var key: String
        /// The upload's id.
        public var uploadID: String
    }

    /// The settings requests are made with.
    public let configuration: S3Configuration
    let http: HTTPClient
    let signer: SigV4Signer
    let logger: Logger

    /// A client that sends its requests through `http` (shared; its owner shuts it down).
    public init(configuration: S3Configuration, http: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.http = http
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
        self.logger = logger
    }

    // MARK: Objects

    /// PutObject: stores `body` under `key`, replacing what is there.
    public func putObject(_ key: String, body: ByteBuffer) async throws {
        try await putObject(key, body: [body])
    }

    /// PutObject of consecutive buffers, sent as one body without being joined.
    public func putObject(_ key: String, body: [ByteBuffer]) async throws {
        let response = try await send("PutObject", .PUT, key: key, body: ByteBufferList(buffers: body))
        try await response.body.drain()
    }

    /// HeadObject: the size and ETag of `key`, or `nil` when there is no such object.
    public func headObject(_ key: String) async throws -> (size: Int64, etag: String?)? {
        do {
            let response = try await send("HeadObject", .HEAD, key: key)
            try await response.body.drain()
            guard let length = response.headers.first(name: "content-length").flatMap(Int64.init) else {
                throw S3Error(code: .invalidResponse, operation: "HeadObject", status: Int(response.status.code))
            }
            return (length, response.headers.first(name: "etag"))
        } catch let error as S3Error where error.isNotFound {
            return nil
        }
    }

    /// GetObject: the bytes of `range` of `key` as a stream, only if the object still has ETag `ifMatch`.
    /// `timeout` replaces ``S3Configuration/requestTimeout`` for a body read at a client's pace.
    public func getObject(_ key: String, range: Range<Int64>?, ifMatch: String?, timeout: Duration? = nil) async throws
        -> HTTPClientResponse
    {
        var headers: [(name: String, value: String)] = []
        if let range, !range.isEmpty { headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")) }
        if let ifMatch { headers.append(("if-match", ifMatch)) }
        return try await send("GetObject", .GET, key: key, headers: headers, timeout: timeout)
    }

    /// DeleteObject: removes `key`; succeeds when there is none.
    public func deleteObject(_ key: String) async throws {
        let response = try await send("DeleteObject", .DELETE, key: key)
        try await response.body.drain()
    }

    /// CopyObject: makes `destination` a copy of `source` in one atomic step on the bucket's side.
    public func copyObject(from source: String, to destination: String) async throws {
        let copySource = "/" + configuration.bucket + "/" + SigV4Encoding.encode(source, encodeSlash: false)
        let response = try await send(
            "CopyObject", .PUT, key: destination, headers: [("x-amz-copy-source", copySource)])
        // A copy can fail after the 200 has been sent: the error is then in the body.
        try Self.throwIfErrorDocument(try await response.body.collect(upTo: 1 << 20), operation: "CopyObject")
    }

    // MARK: Multipart uploads

    /// CreateMultipartUpload: starts an upload to `key`; returns its id.
    public func createMultipartUpload(_ key: String) async throws -> String {
        let response = try await send("CreateMultipartUpload", .POST, key: key, query: [("uploads", "")])
        let body = try await response.body.collect(upTo: 1 << 20)
        guard let uploadID = S3XML.value(of: "UploadId", in: Substring(String(buffer: body))), !uploadID.isEmpty else {
            throw S3Error(code: .invalidResponse, operation: "CreateMultipartUpload", status: Int(response.status.code))
        }
        return uploadID
    }

    /// UploadPart: sends part `number` (from 1) of the upload, given as consecutive buffers; returns the part's ETag.
    public func uploadPart(_ key: String, uploadID: String, number: Int, body: [ByteBuffer]) async throws -> String {
        let response = try await send(
            "UploadPart", .PUT, key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)],
            body: ByteBufferList(buffers: body))
        try await response.body.drain()
        guard let etag = response.headers.first(name: "etag") else {
            throw S3Error(code: .invalidResponse, operation: "UploadPart", status: Int(response.status.code))
        }
        return etag
    }

    /// CompleteMultipartUpload: joins the parts into the object; it becomes visible atomically.
    public func completeMultipartUpload(_ key: String, uploadID: String, parts: [(number: Int, etag: String)]) async throws {
        var xml = "<CompleteMultipartUpload>"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(S3XML.escape(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let response = try await send(
            "CompleteMultipartUpload", .POST, key: key, query: [("uploadId", uploadID)],
            headers: [("content-type", "application/xml")], body: ByteBufferList(buffers: [ByteBuffer(string: xml)]))
        try Self.throwIfErrorDocument(
            try await response.body.collect(upTo: 1 << 20), operation: "CompleteMultipartUpload")
    }

    /// AbortMultipartUpload: discards the upload's parts; succeeds when the upload is already gone.
    public func abortMultipartUpload(_ key: String, uploadID: String) async throws {
        do {
            let response = try await send("AbortMultipartUpload", .DELETE, key: key, query: [("uploadId", uploadID)])
            try await response.body.drain()
        } catch let error as S3Error where error.isNotFound {
            return
        }
    }

    // MARK: Listings

    /// ListObjectsV2: every object whose key starts with `prefix`, page by page.
    public func listObjects(prefix: String) async throws -> [ListedObject] {
        var objects: [ListedObject] = []
        var continuation: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix)]
            if let continuation { query.append(("continuation-token", continuation)) }
            let response = try await send("ListObjectsV2", .GET, key: nil, query: query)
            let xml = Substring(String(buffer: try await response.body.collect(upTo: 16 << 20)))
            for entry in S3XML.elements(named: "Contents", in: xml) {
                guard let key = S3XML.value(of: "Key", in: entry),
                    let size = S3XML.value(of: "Size", in: entry).flatMap(Int64.init)
                else { continue }
                objects.append(ListedObject(key: key, size: size))
            }
            continuation =
                S3XML.value(of: "IsTruncated", in: xml) == "true" ? S3XML.value(of: "NextContinuationToken", in: xml) : nil
        } while continuation != nil
        return objects
    }

    /// ListMultipartUploads: every unfinished upload whose key starts with `prefix`, page by page.
    public func listMultipartUploads(prefix: String) async throws -> [ListedUpload] {
        var uploads: [ListedUpload] = []
        var markers: (key: String, uploadID: String)?
        repeat {
            var query: [(name: String, value: String)] = [("uploads", ""), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.uploadID)] }
            let response = try await send("ListMultipartUploads", .GET, key: nil, query: query)
            let xml = Substring(String(buffer: try await response.body.collect(upTo: 16 << 20)))
            for entry in S3XML.elements(named: "Upload", in: xml) {
                guard let key = S3XML.value(of: "Key", in: entry), let id = S3XML.value(of: "UploadId", in: entry)
                else { continue }
                uploads.append(ListedUpload(key: key, uploadID: id))
            }
            if S3XML.value(of: "IsTruncated", in: xml) == "true",
                let key = S3XML.value(of: "NextKeyMarker", in: xml),
                let id = S3XML.value(of: "NextUploadIdMarker", in: xml)
            {
                markers = (key, id)
            } else {
                markers = nil
            }
        } while markers != nil
        return uploads
    }

    // MARK: Presigning

    /// A URL that lets whoever holds it GET `key` until it expires, without credentials of their own.
    public func presignedGetURL(
        _ key: String, expiresIn seconds: Int, contentDisposition: String?, contentType: String?, now: Date = Date()
    ) -> String {
        let location = location(of: key)
        var query: [(name: String, value: String)] = []
        if let contentDisposition { query.append(("response-content-disposition", contentDisposition)) }
        if let contentType { query.append(("response-content-type", contentType)) }
        return signer.presignedURL(
            method: "GET", scheme: configuration.scheme, host: location.host, path: location.path, query: query,
            expires: max(1, min(seconds, 604_800)), date: now)
    }

    // MARK: Sending

    /// The Host header and path of `key` (or of the bucket when `key` is nil) in the configured addressing style.
    func location(of key: String?) -> (host: String, path: String) {
        let port = configuration.port.map { ":\($0)" } ?? ""
        let encodedKey = key.map { SigV4Encoding.encode($0, encodeSlash: false) }
        if configuration.forcePathStyle {
            let bucketPath = "/" + SigV4Encoding.encode(configuration.bucket, encodeSlash: true)
            return (configuration.host + port, encodedKey.map { bucketPath + "/" + $0 } ?? bucketPath)
        }
        return (configuration.bucket + "." + configuration.host + port, "/" + (encodedKey ?? ""))
    }

    /// Sends one call, retrying idempotent methods on transient failures. The returned response's body is not read
    /// yet; any status of 300 or more has become an ``S3Error`` (its body read for S3's error code).
    func send(
        _ operation: String, _ method: HTTPMethod, key: String?, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: ByteBufferList? = nil, timeout: Duration? = nil
    ) async throws -> HTTPClientResponse {
        let idempotent = method == .GET || method == .HEAD || method == .PUT || method == .DELETE
        var attempt = 1
        while true {
            do {
                return try await sendOnce(
                    operation, method, key: key, query: query, headers: headers, body: body,
                    timeout: timeout ?? configuration.requestTimeout)
            } catch let error as S3Error where idempotent && error.isTransient && attempt < configuration.maximumAttempts {
                // 100 ms, 200 ms, 400 ms … with full jitter, so that many processes do not retry in step.
                let ceiling = 100 * (1 << min(attempt - 1, 6))
                logger.debug(
                    "retrying an S3 call", metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: .milliseconds(Int.random(in: ceiling / 2...ceiling)))
                attempt += 1
            }
        }
    }

    private func sendOnce(
        _ operation: String, _ method: HTTPMethod, key: String?, query: [(name: String, value: String)],
        headers: [(name: String, value: String)], body: ByteBufferList?, timeout: Duration
    ) async throws -> HTTPClientResponse {
        let location = location(of: key)
        let canonicalQuery = SigV4Encoding.canonicalQuery(query)
        var request = HTTPClientRequest(
            url: configuration.scheme + "://" + location.host + location.path + (query.isEmpty ? "" : "?" + canonicalQuery))
        request.method = method
        let payload: PayloadHash
        if let body, method == .POST {
            // Small XML bodies: hashed, so the bucket checks them.
            payload = .sha256(of: body.buffers.lazy.flatMap(\.readableBytesView))
        } else {
            // Object bytes are already hashed once by the store; S3 checks each part's length and ETag.
            payload = body == nil ? .emptyBody : .unsigned
        }
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        for header in signer.signHeaders(
            method: method.rawValue, host: location.host, path: location.path, query: query, headers: headers,
            payload: payload, date: Date())
        {
            request.headers.add(name: header.name, value: header.value)
        }
        if let body {
            request.body = .stream(body, length: .known(Int64(body.count)))
        } else if method == .PUT || method == .POST {
            request.headers.add(name: "content-length", value: "0")
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: .now() + .nanoseconds(timeout.nanoseconds))
        } catch {
            throw S3Error(code: .unreachable, operation: operation, underlying: error)
        }
        guard response.status.code >= 300 else { return response }
        let errorBody = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
        throw S3Error(
            code: .rejected, operation: operation, status: Int(response.status.code),
            s3Code: S3XML.value(of: "Code", in: Substring(errorBody)) ?? (response.status.code == 404 ? "NotFound" : nil),
            message: S3XML.value(of: "Message", in: Substring(errorBody)))
    }

    /// CopyObject and CompleteMultipartUpload may answer 200 with an `<Error>` document.
    static func throwIfErrorDocument(_ body: ByteBuffer, operation: String) throws {
        let xml = Substring(String(buffer: body))
        guard xml.contains("<Error>") else { return }
        throw S3Error(
            code: .rejected, operation: operation, status: 200, s3Code: S3XML.value(of: "Code", in: xml),
            message: S3XML.value(of: "Message", in: xml))
    }
}

extension HTTPClientResponse.Body {
    /// Reads and drops the body, so the connection goes back to the pool.
    func drain() async throws {
        for try await _ in self {}
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
