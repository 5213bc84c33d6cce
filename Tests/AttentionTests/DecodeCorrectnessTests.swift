import AttentionTestSupport
import XCTest

@testable import Attention

/// Decode shapes (a few queries against a long key cache) against the float64
/// reference: grouped-query packing and split keys (flash-decoding) must give
/// what one worker folding every key of every head would.
final class DecodeCorrectnessTests: XCTestCase {
    /// Masks at the end of the sequence: windows and block layouts whose last
    /// blocks are cut by Nk, causal windows with global tokens.
    static let patterns = [
        "full", "causal", "window:64:0", "window:100", "window:50:0:g3",
        "bigbird:16:causal", "bigbird:64:w1:g1:r2", "fixed:16:2:causal",
    ]

    /// Every strategy with its default tile and kernel, and every blockwise
    /// one with a small tile (so that short key lengths are split too) on
    /// every kernel here.
    static var strategies: [any AttentionStrategy] {
        StrategyRegistry.all.map { $0.make(.init()) }
            + StrategyRegistry.all.flatMap { entry -> [any AttentionStrategy] in
                guard entry.make(.init()).tileKernel != nil else { return [] }
                return KernelTable.available.map {
                    entry.make(StrategyOptions(tile: TileSize(validRows: 8, columns: 16), kernel: $0))
                }
            }
    }

    func check(
        _ strategy: any AttentionStrategy, _ shape: AttentionShape, _ pattern: String, seed: UInt64, threads: Int
    )
        throws
    {
        let p = try MaskPattern(parsing: pattern)
        guard strategy.supports(p) else { return }
        let run = try ReferenceCheck.run(strategy, shape: shape, pattern: p, seed: seed, threads: threads)
        XCTAssert(
            run.error.withinTolerance,
            "\(strategy.name)\(strategy.tileKernel.map { " [\($0)]" } ?? "") \(shape) \(pattern) T=\(threads): \(run.error)"
        )
    }

    func testDecodeShapesWithGroupedHeadsAndSplitKeys() throws {
        var seed: UInt64 = 1
        for strategy in Self.strategies {
            for (h, hkv) in [(8, 1), (6, 2), (4, 4), (1, 1)] {
                for (nq, nk) in [(1, 1), (1, 1001), (3, 97), (16, 2053), (3, 5)] {
                    for threads in [2, 3] where nk > 1 || threads == 2 {
                        let shape = try AttentionShape(
                            heads: h, kvHeads: hkv, queryLength: nq, keyLength: nk, headDim: nk == 2053 ? 33 : 16)
                        for pattern in Self.patterns {
                            seed += 1
                            try check(strategy, shape, pattern, seed: seed, threads: threads)
                        }
                    }
                }
            }
        }
    }

    /// The shapes above do split: one unit on several workers gets one piece
    /// per worker, a number of units the workers divide gets none.
    func testSplitPolicy() {
        XCTAssertEqual(KeySplit(units: 1, threads: 2, keyLength: 1001, maxColumns: 16).count, 2)
        XCTAssertEqual(KeySplit(units: 1, threads: 3, keyLength: 1001, maxColumns: 16).count, 3)
        XCTAssertEqual(KeySplit(units: 2, threads: 3, keyLength: 97, maxColumns: 16).count, 3)
        XCTAssertEqual(KeySplit(units: 3, threads: 2, keyLength: 2053, maxColumns: 512).count, 2)
        XCTAssertEqual(KeySplit(units: 8, threads: 2, keyLength: 1 << 17, maxColumns: 512).count, 1)
        XCTAssertEqual(KeySplit(units: 9, threads: 2, keyLength: 1 << 17, maxColumns: 512).count, 1)
        XCTAssertEqual(KeySplit(units: 1, threads: 1, keyLength: 1 << 17, maxColumns: 512).count, 1)
        // Never a piece shorter than a key tile.
        XCTAssertEqual(KeySplit(units: 1, threads: 4, keyLength: 40, maxColumns: 16).count, 2)
        XCTAssertEqual(KeySplit(units: 1, threads: 4, keyLength: 5, maxColumns: 16).count, 1)
    }

    /// Every key lands in exactly one piece, in order, with its flag.
    func testPiecesPartitionTheVisitedKeys() throws {
        let mask = try AttentionMask(.causal, queryLength: 3, keyLength: 97)
        let plan = TiledAttention.Plan(
            mask: mask, tile: TileSize(validRows: 8, columns: 16), kernel: .portable, groupSize: 1)
        var whole: [Int] = []
        plan.visitKeys(of: 0 ..< 3) { keys, _ in whole += keys }
        for count in 1 ... 7 {
            let split = KeySplit(count: count)
            var pieces: [Int] = []
            for piece in 0 ..< count {
                split.visitKeys(of: 0 ..< 3, piece: piece, plan: plan) { keys, _ in
                    XCTAssertFalse(keys.isEmpty)
                    pieces += keys
                }
            }
            XCTAssertEqual(pieces, whole, "\(count) pieces")
        }
    }

    /// The log-sum-exp merge of split states equals the softmax of all keys,
    /// and a row no piece attended is zero.
    func testMergeOfPartialStates() {
        // One row, d = 2, two pieces: piece 0 saw scores {1, 2} (base 2), piece 1 saw {3}.
        let v: [[Float]] = [[1, 0], [0, 1], [2, 2]]
        let s: [Float] = [1, 2, 3]
        func state(_ keys: [Int]) -> [Float] {
            let m = keys.map { s[$0] }.max()!
            let w = keys.map { exp2(s[$0] - m) }
            let acc = (0 ..< 2).map { c in zip(keys, w).reduce(Float(0)) { $0 + $1.1 * v[$1.0][c] } }
            return acc + [m, w.reduce(0, +)]
        }
        let partials = state([0, 1]) + state([2]) + [0, 0, -.infinity, 0]
        // The merge overwrites the first piece's accumulator: each call gets a copy.
        var two = partials, three = partials, none: [Float] = [0, 0, -.infinity, 0]
        var out: [Float] = [9, 9]
        KeySplit(count: 2).merge(
            partials: &two, pieceStride: 4, rows: 1, headDim: 2, into: &out, groupStride: 0, perGroup: 1)
        let w = s.map { exp2($0 - 3) }, total = w.reduce(0, +)
        for c in 0 ..< 2 {
            XCTAssertEqual(out[c], (0 ..< 3).reduce(Float(0)) { $0 + w[$1] * v[$1][c] } / total, accuracy: 1e-6)
        }
        // Three pieces where the third attended nothing: its weight is zero.
        var out3: [Float] = [9, 9]
        KeySplit(count: 3).merge(
            partials: &three, pieceStride: 4, rows: 1, headDim: 2, into: &out3, groupStride: 0, perGroup: 1)
        XCTAssertEqual(out3, out)
        // Nothing attended at all: zeros.
        var empty: [Float] = [9, 9]
        KeySplit(count: 1).merge(
            partials: &none, pieceStride: 4, rows: 1, headDim: 2, into: &empty, groupStride: 0,
            perGroup: 1)
        XCTAssertEqual(empty, [0, 0])
    }
}
