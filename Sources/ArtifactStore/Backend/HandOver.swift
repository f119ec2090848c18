import Synchronization

/// A value moved into an escaping closure, which takes it out: the closure then holds the only reference to it. A
/// capture alone would be a second reference, and a `ByteBuffer` whose storage is referenced twice is copied on
/// its next write instead of reused.
final class HandOver<Value: Sendable>: Sendable {
    private let slot: Mutex<Value?>

    init(_ value: consuming sending Value) { slot = Mutex(value) }

    /// The value, once; `nil` after.
    func take() -> Value? { slot.withLock { $0.take() } }
}
