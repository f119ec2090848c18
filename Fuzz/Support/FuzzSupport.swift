// Compiled into every fuzz target (see Fuzz/build.sh).
import Dispatch

/// Runs async code to completion from libFuzzer's synchronous callback. The fuzzer is single-threaded and waits,
/// so the box is never touched by two threads at once.
final class BlockingBox<Value>: @unchecked Sendable {
    var value: Value?
}

func runBlocking<Value>(_ body: @escaping @Sendable () async -> Value) -> Value {
    let box = BlockingBox<Value>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// A deterministic split of `count` bytes into chunks, driven by `seed` (so a crash reproduces from the input alone).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}

/// Fails the run with a message libFuzzer shows next to the crash.
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    if !condition() { fatalError("fuzz property violated: \(message())", file: file, line: line) }
}
