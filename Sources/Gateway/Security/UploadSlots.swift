import Identifiers
import Synchronization

/// Caps how many uploads one credential may have in flight at once, so one client (or one stolen token) cannot
/// tie up the controller's disk bandwidth and blocking threads with parallel streams.
///
/// Credentials are told apart by the SHA-256 of what was presented (never kept in clear). The API key is one
/// credential: every CLI and every old worker that uploads with it shares its slots.
final class UploadSlots: Sendable {
    let limit: Int
    private let inFlight = Mutex<[TokenDigest: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Runs `body` holding one of `credential`'s slots; throws ``AbuseLimitError`` at once when none is free.
    /// A value no credential of ours can have (not URL-safe) takes no slot: authentication refuses it anyway.
    func withSlot<T: Sendable>(for credential: String, _ body: () async throws -> T) async throws -> T {
        guard let key = SecretToken(presented: credential)?.digest else { return try await body() }
        let acquired = inFlight.withLock { inFlight in
            let current = inFlight[key, default: 0]
            guard current < limit else { return false }
            inFlight[key] = current + 1
            return true
        }
        guard acquired else { throw AbuseLimitError(.tooManyConcurrentUploads, retryAfterSeconds: 5) }
        defer {
            inFlight.withLock { inFlight in
                let remaining = inFlight[key, default: 1] - 1
                inFlight[key] = remaining > 0 ? remaining : nil
            }
        }
        return try await body()
    }

    /// Uploads in flight for `credential` (tests).
    func count(for credential: String) -> Int {
        guard let key = SecretToken(presented: credential)?.digest else { return 0 }
        return inFlight.withLock { $0[key, default: 0] }
    }
}
