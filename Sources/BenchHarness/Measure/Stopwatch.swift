import Foundation

/// How many times to run a case: `warmup` untimed runs, then timed runs
/// until at least `minReps` runs and `minTime` seconds are both reached,
/// and never more than `maxReps`.
public struct RepetitionPolicy: Sendable, Codable, Equatable {
    public var warmup: Int
    public var minReps: Int
    public var maxReps: Int
    public var minTime: Double

    public init(warmup: Int = 1, minReps: Int = 5, maxReps: Int = 30, minTime: Double = 1) {
        self.warmup = warmup
        self.minReps = minReps
        self.maxReps = maxReps
        self.minTime = minTime
    }

    /// Exactly `reps` timed runs.
    public static func fixed(warmup: Int, reps: Int) -> RepetitionPolicy {
        RepetitionPolicy(warmup: warmup, minReps: reps, maxReps: reps, minTime: 0)
    }
}

public enum Stopwatch {
    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Runs `body` under `policy` and returns the timed runs in milliseconds.
    public static func measure(_ policy: RepetitionPolicy, _ body: () throws -> Void) rethrows -> [Double] {
        for _ in 0 ..< policy.warmup { try body() }
        var times: [Double] = []
        let start = now()
        while times.count < policy.maxReps && (times.count < policy.minReps || now() - start < policy.minTime) {
            let t0 = now()
            try body()
            times.append((now() - t0) * 1e3)
        }
        return times
    }
}
