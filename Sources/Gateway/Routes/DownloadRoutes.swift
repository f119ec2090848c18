import ArtifactStore
import Foundation
import HTTPTypes
import Hummingbird
import Identifiers
import NIOCore
import Orchestrator

/// Downloads of sources and results, streamed from the store with `Range` and `HEAD` support.
extension Gateway {
    func download(
        _ request: Request, _ context: GatewayRequestContext, _ credentials: PresentedCredentials, type: String
    ) async throws -> Response {
        let id = pathBuildID(context)
        let submitterSent = credentials.apiKey != nil || credentials.buildToken != nil
        let holderSent = credentials.workerToken != nil || credentials.vmToken != nil
        if type == "source", holderSent || !submitterSent && credentials.workerID != nil {
            _ = try await requireLiveHolder(credentials, build: id, accepts: [.worker, .vmToken])
        } else {
            try await authenticator.requireOperatorOrSubmitter(credentials, build: id)
        }
        let build = try await existingBuild(id)
        switch type {
        case "result":
            guard build.status == .completed else { throw GatewayError.badRequest("Build not completed") }
            guard build.hasResult, let buildID = BuildID(build.id) else { throw GatewayError.notFound("Result not found") }
            let ext = build.platform == "android" ? "apk" : "ipa"
            return try await stream(
                request, key: BlobKey(build: buildID, kind: .result), sha256: build.resultSHA256,
                contentType: "application/octet-stream", filename: "\(build.id).\(ext)")
        case "source":
            return try await streamSource(request, build: build)
        default:
            throw GatewayError.badRequest("Invalid file type")
        }
    }

    func streamSource(_ request: Request, build: BuildRecord) async throws -> Response {
        guard build.hasSource, let buildID = BuildID(build.id) else { throw GatewayError.notFound("Source not found") }
        return try await stream(
            request, key: BlobKey(build: buildID, kind: .source), sha256: build.sourceSHA256,
            contentType: "application/zip", filename: "\(build.id).zip")
    }

    /// Streams a blob: 200 whole, 206 for a satisfiable `Range`, 416 otherwise; `HEAD` sends the headers only.
    /// The SHA-256 recorded at upload is the `ETag` and `X-Checksum-SHA256`, so a resumed download can be checked.
    func stream(
        _ request: Request, key: BlobKey, sha256: String?, contentType: String, filename: String
    ) async throws -> Response {
        guard let size = try await store.size(of: key) else { throw GatewayError.notFound("File not found") }
        var headers: HTTPFields = [
            .contentType: contentType, .contentDisposition: "attachment; filename=\"\(filename)\"",
            .acceptRanges: "bytes",
        ]
        if let sha256 {
            headers[.eTag] = "\"\(sha256)\""
            headers[HTTPField.Name("X-Checksum-SHA256")!] = sha256
        }
        var range = ByteRange.parse(request.headers[.range], size: size)
        // A Range for another version of the file (If-Range with a different ETag) gets the whole file.
        if let ifRange = request.headers[.ifRange], let sha256, ifRange != "\"\(sha256)\"" { range = .whole }
        let status: HTTPResponse.Status
        let slice: ClosedRange<Int64>?
        switch range {
        case .whole:
            status = .ok
            slice = nil
            headers[.contentLength] = "\(size)"
        case .partial(let bytes):
            status = .partialContent
            slice = bytes
            headers[.contentLength] = "\(bytes.count)"
            headers[.contentRange] = "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(size)"
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            var response = Response.json(["error": "Requested range not satisfiable"], status: .rangeNotSatisfiable)
            response.headers.append(contentsOf: headers.filter { $0.name != .contentType && $0.name != .contentLength })
            return response
        }
        if request.method == .head || size == 0 {
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        // DOWNLOAD_REDIRECT=presigned: the bytes come from the bucket, not through this process. The client sends
        // its Range again to the bucket (the object holds the exact uploaded bytes), and checks the checksum header.
        if let lifetime = configuration.downloadRedirect,
            let url = store.presignedDownloadURL(for: key, expiresIn: lifetime, fileName: filename, contentType: contentType)
        {
            var redirect = HTTPFields()
            redirect[.location] = url
            redirect[.cacheControl] = "no-store"
            if let sha256 {
                redirect[.eTag] = "\"\(sha256)\""
                redirect[HTTPField.Name("X-Checksum-SHA256")!] = sha256
            }
            return Response(status: .found, headers: redirect, body: ResponseBody())
        }
        let contents = try await store.contents(of: key, range: slice)
        return Response(status: status, headers: headers, body: ResponseBody { writer in
            // A whole read batch (512 KiB) per write, not 64 KiB chunks: each write is a round trip to the event
            // loop (docs/benchmarks.md, streaming).
            var batches = contents.makeAsyncIterator()
            while let batch = try await batches.nextBatch() {
                try await writer.write(batch)
            }
            try await writer.finish(nil)
        })
    }
}
