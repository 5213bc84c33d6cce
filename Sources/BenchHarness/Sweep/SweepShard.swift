import Attention
import Foundation

/// Part K of N of a sweep's grid, for job arrays: each array task runs one
/// shard, and `attnbench merge` joins their reports.
///
/// Shards are balanced by ``CaseCost`` (predicted seconds), not by case
/// count, and the assignment depends only on the grid: every machine that
/// computes it for the same grid gets the same answer, so every case lands
/// in exactly one shard (``SweepPlan/shardAssignment(count:)``).
public struct SweepShard: Sendable, Equatable, Codable, CustomStringConvertible {
    /// 0-based: shard 0 … count − 1, as job arrays number their tasks.
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }

    /// `sweep.csv` → `sweep.shard-K-of-N.csv` (and so for its `.json`).
    public func reportPath(for path: String) -> String {
        let stem = path.hasSuffix(".csv") ? String(path.dropLast(4)) : path
        return "\(stem).shard-\(index)-of-\(count).csv"
    }

    /// Why a `--shard` value or the job array's variables do not name a shard.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The most shards a grid is split into.
    public static let maxCount = 100_000

    /// Parses `--shard`:
    /// - `K/N`: shard K of N;
    /// - `N`: N shards, K from the job array (below);
    /// - `auto`: both from a Slurm array.
    ///
    /// K comes from `SLURM_ARRAY_TASK_ID` (made 0-based with
    /// `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_STEP`, so `--array=1-4`
    /// and `--array=0-6:2` work) or from a Kubernetes Indexed Job's
    /// `JOB_COMPLETION_INDEX`; N from `SLURM_ARRAY_TASK_COUNT`.
    ///
    /// - Throws: ``ParseError`` naming `--shard` or the variable.
    public static func parse(_ text: String, environment: [String: String]) throws -> SweepShard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let count: Int
        let index: Int
        switch parts.count {
        case 2:
            guard let k = Int(parts[0]), let n = Int(parts[1]) else {
                throw ParseError(description: "--shard '\(text.prefix(40))' must be K/N with whole numbers, e.g. 0/4")
            }
            (index, count) = (k, n)
        case 1 where text == "auto":
            guard let n = environment["SLURM_ARRAY_TASK_COUNT"].flatMap({ Int($0) }) else {
                throw ParseError(
                    description:
                        "--shard auto needs SLURM_ARRAY_TASK_COUNT (a Slurm array task); elsewhere give --shard K/N or --shard N"
                )
            }
            (index, count) = (try arrayIndex(environment, shards: n), n)
        case 1:
            guard let n = Int(text) else {
                throw ParseError(description: "--shard '\(text.prefix(40))' must be K/N, N or auto")
            }
            (index, count) = (try arrayIndex(environment, shards: n), n)
        default:
            throw ParseError(description: "--shard '\(text.prefix(40))' must be K/N, N or auto")
        }
        guard count >= 1, count <= maxCount else {
            throw ParseError(description: "--shard: N must be between 1 and \(maxCount), got \(count)")
        }
        guard index >= 0, index < count else {
            throw ParseError(description: "--shard: K must be between 0 and N − 1 = \(count - 1), got \(index)")
        }
        return SweepShard(index: index, count: count)
    }

    /// This task's 0-based index in its job array.
    static func arrayIndex(_ env: [String: String], shards: Int) throws -> Int {
        if let text = env["SLURM_ARRAY_TASK_ID"] {
            guard let id = Int(text) else {
                throw ParseError(description: "SLURM_ARRAY_TASK_ID '\(text.prefix(40))' is not a whole number")
            }
            let low = env["SLURM_ARRAY_TASK_MIN"].flatMap { Int($0) } ?? 0
            let step = max(1, env["SLURM_ARRAY_TASK_STEP"].flatMap { Int($0) } ?? 1)
            guard (id - low) % step == 0 else {
                throw ParseError(
                    description: "SLURM_ARRAY_TASK_ID \(id) is not on the array's steps (min \(low), step \(step))")
            }
            return (id - low) / step
        }
        if let text = env["JOB_COMPLETION_INDEX"] {
            guard let id = Int(text) else {
                throw ParseError(description: "JOB_COMPLETION_INDEX '\(text.prefix(40))' is not a whole number")
            }
            return id
        }
        throw ParseError(
            description:
                "--shard \(shards) needs the task's index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX; give --shard K/\(shards) outside a job array"
        )
    }
}

extension SweepPlan {
    /// The shard of every case of ``cases()``, in order: longest predicted
    /// first, each to the shard with the least predicted time so far
    /// (ties: the lower index). Costs are rounded to milliseconds, so the
    /// assignment is exact integer arithmetic on every machine; a case that
    /// does not run still weighs 1 ms (its row), so such cases spread over
    /// the shards instead of all landing on one.
    ///
    /// Longest-processing-time-first puts every shard within the largest
    /// single case of the others (and within 4/3 of the best possible
    /// makespan), which for grids of many small cases and a few large ones
    /// is close to even.
    ///
    /// - Complexity: O(c log c + c·N) for c cases and N shards.
    public static func shardAssignment(costs: [Double], count: Int) -> [Int] {
        let weights = costs.map { max(1, Int64(($0 * 1000).rounded())) }
        let order = weights.indices.sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
        var loads = [Int64](repeating: 0, count: count)
        var shard = [Int](repeating: 0, count: costs.count)
        for i in order {
            var best = 0
            for s in 1 ..< count where loads[s] < loads[best] { best = s }
            shard[i] = best
            loads[best] += weights[i]
        }
        return shard
    }

    /// The cases of `shard` in run order, with their predicted seconds,
    /// and every shard's predicted total.
    public func cases(in shard: SweepShard) throws -> (cases: [CaseConfig], seconds: [Double], totals: [Double]) {
        let all = try cases()
        let costs = predictedSeconds(all)
        let assignment = Self.shardAssignment(costs: costs, count: shard.count)
        var totals = [Double](repeating: 0, count: shard.count)
        for (s, c) in zip(assignment, costs) { totals[s] += c }
        let mine = all.indices.filter { assignment[$0] == shard.index }
        return (mine.map { all[$0] }, mine.map { costs[$0] }, totals)
    }
}
