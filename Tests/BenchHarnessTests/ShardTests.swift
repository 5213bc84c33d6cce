import Attention
import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

/// `sweep --shard K/N`: every case in exactly one shard, shards balanced by
/// predicted time, K and N from the job array's variables.
final class ShardTests: XCTestCase {
    /// The default prefill grid: 4 strategies × 4 patterns × N = 512 … 16384.
    static let prefill = SweepPlan(
        grid: SweepGrid(
            strategies: ["dense", "tiled", "sliding", "block-sparse"],
            patterns: ["full", "causal", "window:256", "bigbird:64"],
            seqLens: [512, 1024, 2048, 4096, 8192, 16384], headDims: [64], batch: 1, heads: 8, kvHeads: nil, threads: 2,
            tile: nil, seed: 0, repetitions: RepetitionPolicy()),
        memoryLimitBytes: 1 << 34, timeoutSeconds: 300)

    /// A decode grid with grouped heads, two head dims and a peer.
    static let decode = SweepPlan(
        grid: SweepGrid(
            strategies: ["tiled", "block-sparse", "torch-sdpa"], patterns: ["full", "bigbird:64", "window:512"],
            seqLens: [1, 16], kvLens: [4096, 65536], headDims: [64, 128], batch: 1, heads: 32, kvHeads: 8, threads: 2,
            tile: nil, seed: 0, repetitions: RepetitionPolicy(warmup: 1, minReps: 3, maxReps: 10, minTime: 0.5)),
        memoryLimitBytes: 1 << 34, timeoutSeconds: 300)

    func testEveryCaseLandsInExactlyOneShard() throws {
        for plan in [Self.prefill, Self.decode] {
            let all = try plan.cases().map(CaseKey.init)
            for count in [1, 2, 3, 4, 7, all.count + 3] {
                var seen: [CaseKey: Int] = [:]
                var total = 0.0
                var totals: [Double] = []
                for k in 0 ..< count {
                    let shard = try plan.cases(in: SweepShard(index: k, count: count))
                    totals = shard.totals
                    total += shard.seconds.reduce(0, +)
                    XCTAssertEqual(shard.seconds.reduce(0, +), shard.totals[k], accuracy: 1e-6)
                    let keys = shard.cases.map(CaseKey.init)
                    // A shard runs its cases in the grid's order.
                    let positions = keys.map { all.firstIndex(of: $0)! }
                    XCTAssertEqual(positions, positions.sorted())
                    for key in keys { seen[key, default: 0] += 1 }
                }
                XCTAssertEqual(Set(seen.keys), Set(all), "\(count) shards")
                XCTAssert(seen.values.allSatisfy { $0 == 1 }, "a case in two shards of \(count)")
                XCTAssertEqual(total, totals.reduce(0, +), accuracy: 1e-6)
            }
        }
    }

    /// The target: 96 cases split 4 ways differ by at most 15% in predicted
    /// time, although the shards hold different numbers of cases (the
    /// weight is time, not count).
    func testShardsAreBalancedByPredictedTimeNotCount() throws {
        let plan = Self.prefill
        XCTAssertEqual(try plan.cases().count, 96)
        let shards = try (0 ..< 4).map { try plan.cases(in: SweepShard(index: $0, count: 4)) }
        let totals = shards[0].totals
        XCTAssertLessThanOrEqual(totals.max()! / totals.min()! - 1, 0.15, "\(totals)")
        XCTAssertGreaterThan(Set(shards.map(\.cases.count)).count, 1, "counts \(shards.map(\.cases.count))")
        // The costliest case of the grid is dense at 16384: its shard holds fewer cases than the others.
        let costs = plan.predictedSeconds(try plan.cases())
        let costliest = try plan.cases()[costs.indices.max { costs[$0] < costs[$1] }!]
        XCTAssertEqual(costliest.strategy, "dense")
        XCTAssertEqual(costliest.shape.queryLength, 16384)
    }

    func testAssignmentIsLongestFirstToTheLeastLoaded() {
        // Longest first: 5 → 0, 4 → 1, the first 3 → 1 (4 < 5), the second 3 → 0 (5 < 7), 1 → 1 (7 < 8).
        XCTAssertEqual(SweepPlan.shardAssignment(costs: [3, 5, 1, 4, 3], count: 2), [1, 0, 1, 1, 0])
        // Equal costs: round robin in grid order.
        XCTAssertEqual(SweepPlan.shardAssignment(costs: [1, 1, 1, 1, 1], count: 3), [0, 1, 2, 0, 1])
        // Costs round to milliseconds: what differs below that is a tie.
        XCTAssertEqual(
            SweepPlan.shardAssignment(costs: [1.0000001, 1.0000002], count: 2),
            SweepPlan.shardAssignment(costs: [1.0000002, 1.0000001], count: 2))
    }

    /// A case's predicted time grows with the work its strategy computes:
    /// dense pays for masked pairs, a pattern a strategy lacks costs nothing.
    func testCaseCostFollowsComputedWork() throws {
        // Long enough that the work, not start-up or --min-time, dominates.
        let shape = try AttentionShape(heads: 8, queryLength: 16384, headDim: 64)
        func seconds(_ strategy: String, _ pattern: String) throws -> Double {
            let config = CaseConfig(
                strategy: strategy, shape: shape, pattern: pattern, threads: 2,
                repetitions: RepetitionPolicy(warmup: 1, minReps: 5, maxReps: 30, minTime: 0), verify: true)
            return CaseCost.seconds(config, mask: try AttentionMask(try MaskPattern(parsing: pattern), shape: shape))
        }
        XCTAssertEqual(try seconds("tiled", "causal") / seconds("tiled", "full"), 0.5, accuracy: 0.1)
        XCTAssertEqual(try seconds("dense", "causal"), try seconds("dense", "full"), accuracy: 1e-9)
        XCTAssertEqual(try seconds("sliding", "full"), 0)
        XCTAssertLessThan(try seconds("sliding", "window:256"), try seconds("tiled", "full") / 4)
        // A peer pays for its interpreter, and flex for compiling.
        XCTAssertGreaterThan(try seconds("torch-flex", "causal"), try seconds("torch-sdpa", "causal") + 5)
    }

    func testShardFlagAndJobArrayVariables() throws {
        func parse(_ text: String, _ env: [String: String] = [:]) throws -> SweepShard {
            try SweepShard.parse(text, environment: env)
        }
        XCTAssertEqual(try parse("2/4"), SweepShard(index: 2, count: 4))
        XCTAssertEqual(try parse("4", ["SLURM_ARRAY_TASK_ID": "3"]), SweepShard(index: 3, count: 4))
        // Arrays numbered from 1, or in steps, are made 0-based.
        XCTAssertEqual(
            try parse("4", ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1"]), SweepShard(index: 3, count: 4))
        XCTAssertEqual(
            try parse(
                "auto", ["SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "4"]),
            SweepShard(index: 3, count: 4))
        XCTAssertEqual(try parse("3", ["JOB_COMPLETION_INDEX": "0"]), SweepShard(index: 0, count: 3))
        XCTAssertEqual(SweepShard(index: 1, count: 4).reportPath(for: "out/sweep.csv"), "out/sweep.shard-1-of-4.csv")
        let refused: [(String, [String: String], String)] = [
            ("4/4", [:], "K must be between 0 and N − 1 = 3, got 4"),
            ("0/0", [:], "N must be between 1"),
            ("a/4", [:], "must be K/N with whole numbers"),
            ("1/2/3", [:], "must be K/N, N or auto"),
            ("4", [:], "needs the task's index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"),
            ("auto", ["SLURM_ARRAY_TASK_ID": "1"], "--shard auto needs SLURM_ARRAY_TASK_COUNT"),
            ("4", ["SLURM_ARRAY_TASK_ID": "9"], "got 9"),
            ("4", ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_STEP": "2"], "not on the array's steps"),
        ]
        for (text, env, message) in refused {
            XCTAssertThrowsError(try parse(text, env), text) { error in
                XCTAssert("\(error)".contains(message), "\(text): \(error)")
            }
        }
    }

    /// The fingerprint names the grid: budgets do not change it, a case does.
    func testGridFingerprint() {
        var other = Self.prefill
        other.memoryLimitBytes = 1 << 30
        other.timeoutSeconds = 10
        other.tuning = "none"
        XCTAssertEqual(other.grid.fingerprint, Self.prefill.grid.fingerprint)
        other.seqLens.append(32768)
        XCTAssertNotEqual(other.grid.fingerprint, Self.prefill.grid.fingerprint)
        XCTAssertEqual(Self.prefill.grid.plan.grid, Self.prefill.grid)
    }
}
