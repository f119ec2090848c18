import Synchronization

/// Counts authentication failures (401, 403) per client address and refuses a client that failed too often.
///
/// A client that fails ``limit`` times within ``window`` is refused (429) for one ``window`` from its last
/// counted failure. Successful requests neither count nor reset anything, so a legitimate worker polling every
/// second is never refused unless its own address fails too. State lives in this process only: with several
/// controller processes each one counts on its own (a limit per process, not per farm), which is enough to make
/// guessing a 32-byte token hopeless and costs no database round trip.
final class AuthFailureLimiter: Sendable {
    /// At most this many client addresses are tracked; past it, entries whose window is over are dropped, and a
    /// client that still finds no room is not tracked (failing open: memory stays bounded under a spoofed flood).
    static let maxTrackedClients = 100_000

    struct Entry: Sendable {
        var windowStart: ContinuousClock.Instant
        var failures: Int
        var blockedUntil: ContinuousClock.Instant?
    }

    let limit: Int
    let window: Duration
    private let entries = Mutex<[String: Entry]>([:])

    /// `limit` 0 turns the limiter off.
    init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = window
    }

    var isEnabled: Bool { limit > 0 }

    /// Seconds until `client` may try again, or `nil` when it is not refused.
    func retryAfter(client: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard isEnabled else { return nil }
        return entries.withLock { entries in
            guard let until = entries[client]?.blockedUntil else { return nil }
            guard until > now else {
                entries[client] = nil
                return nil
            }
            return Self.wholeSeconds(until - now)
        }
    }

    /// Counts one failure of `client`; returns the seconds it is now refused for when this failure reached the limit.
    @discardableResult
    func recordFailure(client: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard isEnabled else { return nil }
        return entries.withLock { entries in
            if entries[client] == nil, entries.count >= Self.maxTrackedClients {
                entries = entries.filter { _, entry in
                    (entry.blockedUntil ?? entry.windowStart.advanced(by: window)) > now
                }
                guard entries.count < Self.maxTrackedClients else { return nil }
            }
            var entry = entries[client] ?? Entry(windowStart: now, failures: 0, blockedUntil: nil)
            if now - entry.windowStart > window {
                entry = Entry(windowStart: now, failures: 0, blockedUntil: nil)
            }
            entry.failures += 1
            var refusedFor: Int?
            if entry.failures >= limit {
                entry.blockedUntil = now.advanced(by: window)
                entry.windowStart = now
                entry.failures = 0
                refusedFor = Self.wholeSeconds(window)
            }
            entries[client] = entry
            return refusedFor
        }
    }

    /// Rounded up, at least 1: `Retry-After` 0 would invite an immediate retry.
    static func wholeSeconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
