import ArtifactStore
import Foundation
import Logging
import NIOCore
import NIOPosix

/// The S3-compatible object-store driver of ``ArtifactStore`` (`STORAGE_BACKEND=s3`): AWS S3, Cloudflare R2,
/// MinIO, Ceph RGW.
///
/// Blobs are objects under `<prefix>blobs/<kind>/<build id>`, holding exactly the uploaded bytes (so a presigned URL
/// can serve them). Uploads stream into multipart uploads (see ``S3Upload``); downloads stream from ranged GETs.
/// Every failure of the bucket becomes ``ArtifactStoreError/Code/storageUnavailable`` (the Gateway answers 503),
/// except a missing object, which is ``ArtifactStoreError/Code/notFound``.
public struct S3Backend: BlobBackend {
    /// The client every call goes through.
    public let client: S3Client
    let keys: S3ObjectKeys
    let threadPool: NIOThreadPool
    let logger: Logger

    /// A driver for the bucket `client` is configured for; archive inspection runs on `threadPool`.
    public init(client: S3Client, threadPool: NIOThreadPool = .singleton, logger: Logger) {
        self.client = client
        self.keys = S3ObjectKeys(prefix: client.configuration.prefix)
        self.threadPool = threadPool
        self.logger = logger
    }

    public var name: String { "s3" }

    /// The object key a blob lives under (for tests and operators' tooling).
    public func objectKey(of key: BlobKey) -> String { keys.blob(key) }

    public func beginUpload(for key: BlobKey) async throws -> any BlobUpload {
        S3Upload(
            key: key, objectKey: keys.blob(key), stagingKey: keys.newStaging(), client: client, threadPool: threadPool)
    }

    public func size(of key: BlobKey) async throws -> Int64? {
        do {
            return try await client.headObject(keys.blob(key))?.size
        } catch {
            throw Self.storeError(error, key: key)
        }
    }

    public func openForReading(_ key: BlobKey) async throws -> (size: Int64, source: any BlobByteSource) {
        let head: (size: Int64, etag: String?)?
        do {
            head = try await client.headObject(keys.blob(key))
        } catch {
            throw Self.storeError(error, key: key)
        }
        guard let head else { throw ArtifactStoreError(code: .notFound, key: key) }
        let source = S3ObjectSource(client: client, objectKey: keys.blob(key), etag: head.etag, end: head.size)
        return (head.size, source)
    }

    public func delete(_ key: BlobKey) async throws {
        do {
            try await client.deleteObject(keys.blob(key))
        } catch {
            throw Self.storeError(error, key: key)
        }
    }

    /// Aborts multipart uploads and deletes staging objects and probes whose key says they started more than
    /// ``S3Configuration/staleUploadAge`` ago. Younger ones may belong to a live upload of any process: left alone.
    public func sweepAbandonedUploads() async throws -> Int {
        do {
            let cutoff = Date() - TimeInterval(client.configuration.staleUploadAge.components.seconds)
            func isStale(_ objectKey: String) -> Bool { keys.startTime(of: objectKey).map { $0 < cutoff } ?? false }
            var removed = 0
            let uploads = try await client.listMultipartUploads(prefix: S3ObjectKeys.listingPrefix(of: keys.staging))
            for upload in uploads where upload.key.hasPrefix(keys.staging) && isStale(upload.key) {
                try await client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
                removed += 1
            }
            for folder in [keys.staging, keys.probes] {
                let objects = try await client.listObjects(prefix: S3ObjectKeys.listingPrefix(of: folder))
                for object in objects where object.key.hasPrefix(folder) && isStale(object.key) {
                    try await client.deleteObject(object.key)
                    removed += 1
                }
            }
            return removed
        } catch {
            throw Self.storeError(error, key: nil)
        }
    }

    /// Lists every blob (one request per 1,000): cheap for thousands, and `/health` caches it.
    public func usage() async throws -> StorageUsage {
        do {
            let objects = try await client.listObjects(prefix: S3ObjectKeys.listingPrefix(of: keys.blobs))
                .filter { $0.key.hasPrefix(keys.blobs) }
            return StorageUsage(
                backend: name, bytesUsed: objects.reduce(0) { $0 + $1.size }, blobCount: objects.count, freeBytes: nil)
        } catch {
            throw Self.storeError(error, key: nil)
        }
    }

    /// Writes, reads back and deletes a probe object under the prefix.
    public func checkWritable() async throws {
        let probe = keys.newProbe()
        do {
            let bytes = ByteBuffer(string: "free-agent-controller probe")
            try await client.putObject(probe, body: bytes)
            guard try await client.headObject(probe)?.size == Int64(bytes.readableBytes) else {
                throw S3Error(code: .invalidResponse, operation: "HeadObject")
            }
            try await client.deleteObject(probe)
        } catch {
            throw Self.storeError(error, key: nil)
        }
    }

    public func presignedDownloadURL(for key: BlobKey, expiresIn: Duration, fileName: String, contentType: String)
        -> String?
    {
        client.presignedGetURL(
            keys.blob(key), expiresIn: Int(expiresIn.components.seconds),
            contentDisposition: "attachment; filename=\"\(fileName)\"", contentType: contentType)
    }

    /// The store's error for a failed call: `notFound` for a missing object, `storageUnavailable` for the rest.
    static func storeError(_ error: any Error, key: BlobKey?) -> ArtifactStoreError {
        switch error {
        case let error as ArtifactStoreError:
            return error
        case let error as S3Error where error.isNotFound && key != nil:
            return ArtifactStoreError(code: .notFound, key: key, underlying: error)
        default:
            return ArtifactStoreError(code: .storageUnavailable, key: key, underlying: error)
        }
    }
}
