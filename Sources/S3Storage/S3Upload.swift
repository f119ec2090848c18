import ArtifactStore
import Logging
import NIOCore
import NIOPosix

/// One staged upload into the bucket.
///
/// Buffers gather, uncopied, into a part of ``S3Configuration/partSize`` bytes; each full part goes out as a part of a multipart
/// upload to a staging key (`staging/<second>-<random>`), so memory stays at about one part. Nothing is visible
/// under the blob's key until ``commit()``:
/// - a blob smaller than one part, never inspected, is one PutObject to its key (atomic by S3's rules);
/// - otherwise the staging upload is completed, inspected when asked (ranged GETs), then copied to the blob's key
///   with CopyObject (atomic, replacing any blob there) and the staging object deleted.
/// ``abort()`` aborts the multipart upload or deletes the staging object; the sweeper finds what a crash left.
actor S3Upload: BlobUpload {
    private let key: BlobKey
    private let objectKey: String
    private let stagingKey: String
    private let client: S3Client
    private let threadPool: NIOThreadPool
    private let partSize: Int
    /// The buffers of the part being gathered, kept as handed over (no copy).
    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private var uploadID: String?
    private var parts: [(number: Int, etag: String)] = []
    private var size: Int64 = 0
    /// The staging object is complete (its multipart upload is finished, or it was put whole).
    private var staged = false
    private var finished = false

    init(key: BlobKey, objectKey: String, stagingKey: String, client: S3Client, threadPool: NIOThreadPool) {
        self.key = key
        self.objectKey = objectKey
        self.stagingKey = stagingKey
        self.client = client
        self.threadPool = threadPool
        self.partSize = max(client.configuration.partSize, 5 << 20)
    }

    func append(_ buffers: [ByteBuffer]) async throws {
        for buffer in buffers where buffer.readableBytes > 0 {
            size += Int64(buffer.readableBytes)
            pendingBytes += buffer.readableBytes
            pending.append(buffer)
        }
        if pendingBytes >= partSize {
            try await sendPendingAsPart()
        }
    }

    func inspectStaged<T: Sendable>(_ body: @escaping @Sendable (any StagedBlobReader) throws -> T) async throws -> T {
        try await finishStaging()
        let reader = S3StagedReader(client: client, objectKey: stagingKey, size: size)
        return try await threadPool.runIfActive { try body(reader) }
    }

    func commit() async throws {
        do {
            if !staged && uploadID == nil {
                try await client.putObject(objectKey, body: takePending())
            } else {
                try await finishStaging()
                try await client.copyObject(from: stagingKey, to: objectKey)
                try? await client.deleteObject(stagingKey)
            }
            finished = true
        } catch {
            await abort()
            throw S3Backend.storeError(error, key: key)
        }
    }

    func abort() async {
        guard !finished else { return }
        finished = true
        _ = takePending()
        if staged {
            try? await client.deleteObject(stagingKey)
        } else if let uploadID {
            try? await client.abortMultipartUpload(stagingKey, uploadID: uploadID)
        }
    }

    /// Sends what has gathered as the next part, starting the multipart upload with the first one.
    private func sendPendingAsPart() async throws {
        do {
            let id: String
            if let uploadID {
                id = uploadID
            } else {
                id = try await client.createMultipartUpload(stagingKey)
                uploadID = id
            }
            let number = parts.count + 1
            let part = takePending()
            let etag = try await client.uploadPart(stagingKey, uploadID: id, number: number, body: part)
            parts.append((number, etag))
        } catch {
            throw S3Backend.storeError(error, key: key)
        }
    }

    /// Makes the staging object whole: the last part and CompleteMultipartUpload, or one PutObject when small.
    private func finishStaging() async throws {
        guard !staged else { return }
        do {
            if let uploadID {
                if pendingBytes > 0 || parts.isEmpty { try await sendPendingAsPart() }
                try await client.completeMultipartUpload(stagingKey, uploadID: uploadID, parts: parts)
            } else {
                try await client.putObject(stagingKey, body: takePending())
            }
            staged = true
        } catch {
            throw S3Backend.storeError(error, key: key)
        }
    }

    /// Hands the gathered buffers over and starts a new part.
    private func takePending() -> [ByteBuffer] {
        defer {
            pending = []
            pendingBytes = 0
        }
        return pending
    }
}
