import Attention
import AttentionTestSupport
import XCTest

/// Every registered strategy against the float64 reference, on every
/// pattern it supports, with awkward shapes.
final class StrategyCorrectnessTests: XCTestCase {
    /// Patterns of every family, including edge cases of each.
    static let patterns: [String] = [
        "full", "causal",
        "window:0", "window:1", "window:4", "window:5:2", "window:16:0", "window:0:3",
        "window:3:g2", "window:6:0:g3", "window:100000",
        "bigbird:16", "bigbird:16:causal", "bigbird:8:w1:g0:r2:s7", "bigbird:24:w5:g2:r1:causal",
        "fixed:8:3", "fixed:8:3:causal", "fixed:16:1",
    ]

    /// Every registered strategy, once per tile kernel this CPU and build
    /// can run (strategies without tile kernels once).
    static var strategies: [any AttentionStrategy] {
        StrategyRegistry.all.flatMap { entry -> [any AttentionStrategy] in
            guard entry.make(.init()).tileKernel != nil else { return [entry.make(.init())] }
            return KernelTable.available.map { entry.make(StrategyOptions(kernel: $0)) }
        }
    }

    func check(
        _ strategy: any AttentionStrategy, _ shape: AttentionShape, _ pattern: String,
        seed: UInt64, threads: Int = 2, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let p = try MaskPattern(parsing: pattern)
        guard strategy.supports(p) else { return }
        let run = try ReferenceCheck.run(strategy, shape: shape, pattern: p, seed: seed, threads: threads)
        XCTAssert(
            run.error.withinTolerance,
            "\(strategy.name)\(strategy.tileKernel.map { " [\($0)]" } ?? "") \(shape) \(pattern) seed \(seed): \(run.error)",
            file: file, line: line)
    }

    func testEveryStrategyOnEveryPatternAtAwkwardLengths() throws {
        for strategy in Self.strategies {
            for (nq, nk) in [(1, 1), (7, 7), (1, 300), (300, 7), (7, 300), (97, 61), (130, 130)] {
                let shape = try AttentionShape(heads: 2, queryLength: nq, keyLength: nk, headDim: 16)
                for pattern in Self.patterns { try check(strategy, shape, pattern, seed: UInt64(nq * 31 + nk)) }
            }
        }
    }

    func testLongSequencesNoTileDivides() throws {
        for strategy in Self.strategies {
            for n in [1000, 1537] {
                let shape = try AttentionShape(heads: 1, queryLength: n, headDim: 32)
                for pattern in [
                    "full", "causal", "window:100:37", "window:64:0:g5", "bigbird:64", "bigbird:64:causal",
                    "fixed:64:4",
                ] {
                    try check(strategy, shape, pattern, seed: UInt64(n))
                }
            }
        }
    }

    func testGroupedHeadsAndHeadDims() throws {
        for strategy in Self.strategies {
            for (h, g) in [(6, 2), (6, 1), (4, 4)] {
                for d in [7, 16, 33, 64, 80, 128] {
                    let shape = try AttentionShape(
                        batch: 2, heads: h, kvHeads: g, queryLength: 45, keyLength: 70, headDim: d)
                    for pattern in ["full", "causal", "window:9:4:g2", "bigbird:16", "fixed:16:2:causal"] {
                        try check(strategy, shape, pattern, seed: UInt64(h * 1000 + g * 100 + d), threads: 3)
                    }
                }
            }
        }
    }

    func testRandomShapesAndSeeds() throws {
        var rng = TestRandom(seed: 2026)
        for strategy in Self.strategies {
            for _ in 0 ..< 12 {
                let g = rng.pick([1, 2, 3])
                let shape = try AttentionShape(
                    batch: rng.int(in: 1 ... 2), heads: g * rng.int(in: 1 ... 3), kvHeads: g,
                    queryLength: rng.int(in: 1 ... 400), keyLength: rng.int(in: 1 ... 400),
                    headDim: rng.pick([16, 24, 64, 80, 96, 128]))
                let pattern = rng.pick(Self.patterns)
                try check(strategy, shape, pattern, seed: rng.next(), threads: rng.int(in: 1 ... 3))
            }
        }
    }

    func testTileSizesThatDoNotDivideOrExceedTheLengths() throws {
        let shape = try AttentionShape(heads: 2, kvHeads: 1, queryLength: 203, keyLength: 157, headDim: 24)
        for tile in [(1, 1), (7, 5), (16, 48), (24, 40), (64, 256), (1024, 2048), (3, 300)] {
            let options = StrategyOptions(tile: try TileSize(rows: tile.0, columns: tile.1))
            for name in ["tiled", "sliding", "block-sparse"] {
                let strategy = try StrategyRegistry.strategy(named: name, options: options)
                for pattern in ["full", "causal", "window:20:3:g4", "bigbird:16:causal", "fixed:8:2"] {
                    try check(strategy, shape, pattern, seed: UInt64(tile.0 * 7 + tile.1))
                }
            }
        }
    }

    func testTilesMuchLargerThanTheProblemAreCutToIt() throws {
        let shape = try AttentionShape(heads: 2, queryLength: 50, keyLength: 30, headDim: 16)
        let strategy = TiledAttention(tile: try TileSize(rows: 65536, columns: 65536))
        let mask = try AttentionMask(.causal, shape: shape)
        XCTAssertLessThan(strategy.predictedExtraBytes(shape: shape, mask: mask, threads: 2, precision: .f32), 1 << 20)
        XCTAssert(try ReferenceCheck.run(strategy, shape: shape, pattern: .causal, seed: 2).error.withinTolerance)
    }

    func testShapesTooLargeToAddressAreRejected() {
        XCTAssertThrowsError(try AttentionShape(heads: 1 << 20, queryLength: 1 << 30, headDim: 1 << 20)) {
            XCTAssert("\($0)".contains("too large to address"), "\($0)")
        }
        XCTAssertThrowsError(try AttentionShape(heads: 1, queryLength: 1 << 32, headDim: 8)) {
            XCTAssert("\($0)".contains("seq-len must be at most 2147483647"), "\($0)")
        }
    }

    func testRowsWithNoAttendedKeyAreZero() throws {
        // Causal with Nq > Nk: rows i < Nq − Nk sit before the first key.
        let shape = try AttentionShape(heads: 2, queryLength: 50, keyLength: 20, headDim: 16)
        let layout = try BlockLayout(blockSize: 8, keyBlocks: 3, rows: [[0], [], [1, 2], [], [0, 2], [], [1]])
        for strategy in Self.strategies {
            for pattern in [MaskPattern.causal, .window(.init(left: 2, right: 0)), .layout(layout)]
            where strategy.supports(pattern) {
                let run = try ReferenceCheck.run(strategy, shape: shape, pattern: pattern, seed: 5)
                XCTAssert(run.error.withinTolerance, "\(strategy.name) \(pattern): \(run.error)")
                let d = shape.headDim
                for h in 0 ..< shape.heads {
                    for i in 0 ..< shape.queryLength where run.mask.attendedKeyCount(ofRow: i) == 0 {
                        let row = run.output[(h * shape.queryLength + i) * d ..< (h * shape.queryLength + i + 1) * d]
                        XCTAssert(row.allSatisfy { $0 == 0 }, "\(strategy.name) \(pattern) row \(i) is not zero")
                    }
                }
                XCTAssert(
                    (0 ..< shape.queryLength).contains { run.mask.attendedKeyCount(ofRow: $0) == 0 },
                    "the case must contain an empty row")
            }
        }
    }

    func testFullLayoutEqualsFullAttention() throws {
        let shape = try AttentionShape(heads: 1, queryLength: 70, headDim: 16)
        let layout = try BlockLayout(blockSize: 16, keyBlocks: 5, rows: Array(repeating: Array(0 ..< 5), count: 5))
        let mask = try AttentionMask(.layout(layout), shape: shape)
        XCTAssertEqual(mask.attendedPairs, 70 * 70)
        let sparse = try ReferenceCheck.run(BlockSparseAttention(), shape: shape, pattern: .layout(layout), seed: 3)
        let dense = try ReferenceCheck.run(DenseAttention(), shape: shape, pattern: .full, seed: 3)
        XCTAssertEqual(sparse.reference, dense.reference)
        XCTAssert(ReferenceCheck.compare(sparse.output, dense.reference).withinTolerance)
    }

    func testWindowAsLongAsTheSequenceEqualsFull() throws {
        let shape = try AttentionShape(heads: 1, queryLength: 90, headDim: 16)
        let window = try ReferenceCheck.run(
            SlidingWindowAttention(), shape: shape, pattern: try MaskPattern(parsing: "window:90"), seed: 4)
        let full = ReferenceAttention.forward(window.inputs, mask: try AttentionMask(.full, shape: shape))
        XCTAssert(ReferenceCheck.compare(window.output, full).withinTolerance)
    }

    func testUnsupportedPatternThrowsNamingBoth() throws {
        let shape = try AttentionShape(heads: 1, queryLength: 8, headDim: 16)
        let inputs = AttentionInputs.random(shape: shape, seed: 1)
        let out = inputs.makeOutput()
        let cases: [(any AttentionStrategy, MaskPattern)] = [
            (SlidingWindowAttention(), .full), (SlidingWindowAttention(), .causal),
            (BlockSparseAttention(), .window(.init(left: 1, right: 1))), (BlockSparseAttention(), .full),
        ]
        for (strategy, pattern) in cases {
            XCTAssertThrowsError(
                try strategy.forward(inputs, mask: try AttentionMask(pattern, shape: shape), output: out, threads: 1)
            ) {
                guard case AttentionError.unsupportedPattern(let s, let p, _) = $0 else { return XCTFail("\($0)") }
                XCTAssertEqual(s, strategy.name)
                XCTAssertEqual(p, pattern.description)
                XCTAssert("\($0)".contains(strategy.name) && "\($0)".contains(pattern.description))
            }
        }
    }

    func testWrongOutputSizeThrows() throws {
        let shape = try AttentionShape(heads: 1, queryLength: 8, headDim: 16)
        let inputs = AttentionInputs.random(shape: shape, seed: 1)
        for entry in StrategyRegistry.all {
            XCTAssertThrowsError(
                try entry.make(.init()).forward(
                    inputs, mask: try AttentionMask(.bigBird(.init(blockSize: 4)), shape: shape),
                    output: Tensor(count: 3), threads: 1))
        }
    }

    func testUnknownStrategy() {
        // Other test targets in this process may have registered strategies of their own after the built-in ones.
        XCTAssertThrowsError(try StrategyRegistry.strategy(named: "flash")) {
            XCTAssert(
                "\($0)".hasPrefix("unknown strategy 'flash' (known: dense, tiled, sliding, block-sparse"), "\($0)")
        }
    }
}
