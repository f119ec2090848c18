import ArtifactStore
import Logging
import ServiceLifecycle

/// Removes what interrupted uploads left in the store (temporary files; unfinished multipart uploads and staging
/// objects in a bucket) once at start-up and then every ``interval``, so that a process that crashed and never
/// came back does not leave its leftovers to the next restart of another. Safe in every process at once: the
/// backends leave uploads in flight alone (a lock on a file; an age of `S3_STALE_UPLOAD_SECONDS` in a bucket).
struct UploadSweeper: Service {
    /// An hour: leftovers cost space, not correctness.
    static let defaultInterval: Duration = .seconds(3600)

    let store: ArtifactStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await sweepOnce()
            // Sleeps for the interval, or less when the service group shuts down.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    func sweepOnce() async {
        do {
            let swept = try await store.sweepTemporaryFiles()
            if swept > 0 { logger.info("removed leftovers of interrupted uploads", metadata: ["count": "\(swept)"]) }
        } catch {
            // Leftovers cost space, not correctness: keep serving, and say why they stay.
            logger.warning("could not remove leftovers of interrupted uploads", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}
