import Synchronization

/// Wakes the long-polls of this process when a build is queued on any process.
///
/// A generation counter closes the gap between "claimed nothing" and "started waiting": a poll reads the
/// generation before it tries to claim, and a wait for an older generation returns at once.
public final class QueueSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// The current generation; pass it to ``wait(after:timeout:)``.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Something was queued: wake every waiter.
    public func signal() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when the generation moves past `generation`, after `timeout`, or on cancellation.
    public func wait(after generation: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal(after: generation) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal(after generation: UInt64) async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != generation || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiting = state.waiters.removeValue(forKey: id) { return waiting }
                state.cancelled.insert(id)
                return nil
            }
            continuation?.resume()
        }
    }
}
