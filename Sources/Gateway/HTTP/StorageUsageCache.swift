import ArtifactStore
import Synchronization

/// The store's figures for `/health`, refreshed at most every ``maxAge``: counting them walks every blob, and
/// load balancers call `/health` every few seconds.
final class StorageUsageCache: Sendable {
    static let maxAge: Duration = .seconds(30)
    private let cached = Mutex<(at: ContinuousClock.Instant, usage: StorageUsage)?>(nil)

    func usage(of store: ArtifactStore) async throws -> StorageUsage {
        let now = ContinuousClock.now
        if let entry = cached.withLock({ $0 }), now - entry.at < Self.maxAge { return entry.usage }
        let usage = try await store.usage()
        cached.withLock { $0 = (now, usage) }
        return usage
    }
}
