import ArtifactStore
import Identifiers
import Logging
import Orchestrator

/// The retention policy: sources and results of builds finished more than `RETENTION_DAYS` ago are deleted by
/// the sweeper; the build row remains, marked as having no artifact (`has_source`/`has_result` false).
extension Gateway {
    /// Deletes what is due; returns how many builds were purged. Errors are logged and retried next tick.
    @discardableResult
    public func purgeExpiredArtifacts() async -> Int {
        guard let age = configuration.retention else { return 0 }
        var purged = 0
        do {
            for id in try await orchestrator.buildsDueForPurge(olderThan: age) {
                guard let buildID = BuildID(id) else { continue }
                // Files first: a crash in between leaves a row that the next tick purges again (deletes are idempotent).
                try await store.delete(BlobKey(build: buildID, kind: .source))
                try await store.delete(BlobKey(build: buildID, kind: .result))
                try await orchestrator.markArtifactsPurged(id)
                purged += 1
            }
        } catch {
            logger.error("retention sweep failed", metadata: ["error": "\(DatabaseErrorSummary.describe(error))"])
        }
        if purged > 0 { logger.info("retention purged builds' files", metadata: ["count": "\(purged)"]) }
        return purged
    }
}
