/// Which build each assignment handed out, counted per build id: the duplicate and loss check of a run.
///
/// Every simulated worker keeps its own ledger (no shared state on the hot path); the run merges them at the end.
struct AssignmentLedger: Sendable, Equatable {
    private(set) var assignments: [String: Int] = [:]

    /// One assignment of `build` to some worker.
    mutating func record(_ build: String) { assignments[build, default: 0] += 1 }

    mutating func merge(_ other: AssignmentLedger) {
        assignments.merge(other.assignments, uniquingKeysWith: +)
    }

    /// Assignments in all, duplicates included.
    var total: Int { assignments.values.reduce(0, +) }

    /// Builds handed out more than once, with how often: must stay empty.
    var duplicated: [String: Int] { assignments.filter { $0.value > 1 } }

    /// Builds of `expected` that were never handed out.
    func missing(from expected: some Sequence<String>) -> [String] {
        expected.filter { assignments[$0] == nil }
    }

    /// Builds handed out that are not in `expected` (left over from an earlier, aborted run).
    func foreign(to expected: Set<String>) -> [String] {
        assignments.keys.filter { !expected.contains($0) }.sorted()
    }
}
