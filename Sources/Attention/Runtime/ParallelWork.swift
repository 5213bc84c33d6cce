import Dispatch
import Synchronization

/// Runs independent work units on a fixed number of workers.
///
/// Units are handed out one at a time from a shared counter, so uneven
/// units (causal rows near the end are longer) still keep every worker busy.
/// Each worker gets its index, so it can own a private workspace.
enum ParallelWork {
    static func run(units: Int, workers: Int, _ body: (_ worker: Int, _ unit: Int) -> Void) {
        guard units > 0 else { return }
        let workers = max(1, min(workers, units))
        if workers == 1 {
            for u in 0 ..< units { body(0, u) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                while true {
                    let u = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if u >= units { break }
                    box.value(w, u)
                }
            }
        }
    }
}

/// Carries a value the compiler cannot prove `Sendable` into concurrent work.
/// Used only for unsafe pointers to disjoint regions and for closures that
/// write only their own unit's output.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
