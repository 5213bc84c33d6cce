import Attention
import AttentionTestSupport
import XCTest

/// f16 and bf16 storage: the conversions bit by bit, and every strategy and
/// kernel against the float64 reference of the rounded inputs on the
/// awkward shapes the float32 tests use.
final class HalfPrecisionTests: XCTestCase {
    // MARK: Conversions

    func testBFloat16RoundsToNearestEven() {
        // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷: ties go to the even 1.
        XCTAssertEqual(BFloat16(1 + 0x1p-8).bitPattern, 0x3F80)
        // 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶: up.
        XCTAssertEqual(BFloat16(1 + 3 * 0x1p-8).bitPattern, 0x3F82)
        // Just above halfway rounds up.
        XCTAssertEqual(BFloat16(Float(bitPattern: 0x3F80_8001)).bitPattern, 0x3F81)
        XCTAssertEqual(BFloat16(-2.5).widened, -2.5)
        XCTAssertEqual(BFloat16(.infinity).widened, .infinity)
        // The largest float rounds to ∞, as IEEE rounding does.
        XCTAssertEqual(BFloat16(.greatestFiniteMagnitude).widened, .infinity)
        // A NaN whose payload sits only in the low bits stays a NaN, not ∞.
        XCTAssert(BFloat16(Float(bitPattern: 0x7F80_0001)).widened.isNaN)
        // Subnormals are rounded, not flushed.
        XCTAssertEqual(BFloat16(Float.leastNonzeroMagnitude * 3).widened, Float(bitPattern: 0x0000_0000))
        XCTAssertEqual(BFloat16(Float(bitPattern: 0x0001_8000)).bitPattern, 0x0002)
    }

    func testBFloat16VectorNarrowingMatchesTheScalarRoundingOnEveryKindOfBits() {
        // The 16-lane path computes the rounding without a select; every
        // class of float (NaNs of any payload and sign, ±∞, the largest
        // finite, ties, subnormals, zeros) and random bit patterns must
        // give the scalar rounding's bits.
        var special: [UInt32] = [
            0x7F80_0001, 0xFF80_0001, 0x7FC0_0000, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x7F80_8000, 0x7F80_0000,
            0xFF80_0000, 0x7F7F_FFFF, 0xFF7F_FFFF, 0x3F80_8000, 0x3F81_8000, 0x3F80_8001, 0x0001_8000,
            0x0000_0001, 0x8000_8000, 0x0000_0000, 0x8000_0000, 0x007F_FFFF, 0x7F7F_8000,
        ]
        var g = NormalGenerator(seed: 9, stream: 0)
        for _ in 0 ..< 4096 { special.append(UInt32(truncatingIfNeeded: g.nextBits())) }
        let floats = special.map { Float(bitPattern: $0) }
        var out = [BFloat16](repeating: BFloat16(bitPattern: 0), count: floats.count)
        floats.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                BFloat16.narrow(src.baseAddress!, into: dst.baseAddress!, count: src.count)
            }
        }
        for (x, y) in zip(floats, out) {
            XCTAssertEqual(y.bitPattern, BFloat16(x).bitPattern, "bits \(String(x.bitPattern, radix: 16))")
        }
    }

    func testWidenAndNarrowAgreeWithScalarConversions() {
        var g = NormalGenerator(seed: 5, stream: 0)
        let values = (0 ..< 1000).map { _ in g.nextNormal() * 100 } + [0, -0.0, 65504, 65520, 1e-7, -1e30]
        for precision in [Precision.f16, .bf16] {
            let t = Tensor(values, precision: precision)
            let back = t.toArray()
            for (x, y) in zip(values, back) {
                XCTAssertEqual(y.bitPattern, precision.rounded(x).bitPattern, "\(precision) \(x)")
                let u = Float(precision.unitRoundoff)
                if x.isFinite, abs(x) >= 1e-4, abs(x) <= 60000 { XCTAssertLessThanOrEqual(abs(y - x), u * abs(x)) }
            }
            XCTAssertEqual(t.bytes, values.count * 2)
        }
        XCTAssertEqual(Precision.f16.rounded(65520), .infinity, "f16 overflows past 65504 + half an ulp")
    }

    func testOneSeedIsOneProblemAtEveryPrecision() throws {
        let shape = try AttentionShape(heads: 2, kvHeads: 1, queryLength: 70_000, keyLength: 3, headDim: 1)
        let exact = AttentionInputs.random(shape: shape, seed: 9)
        for precision in [Precision.f16, .bf16] {
            let rounded = AttentionInputs.random(shape: shape, seed: 9, precision: precision)
            XCTAssertEqual(rounded.query.toArray(), exact.query.toArray().map(precision.rounded))
            XCTAssertEqual(rounded.value.toArray(), exact.value.toArray().map(precision.rounded))
            XCTAssertEqual(exact.converted(to: precision).key.toArray(), rounded.key.toArray())
        }
    }

    // MARK: Strategies

    /// Checks one run and returns its error. One rounding of O costs about
    /// u/3 relative (RMS) on these inputs; u/2 also fails a second rounding
    /// anywhere (of P, of the accumulator), which the dtype's tolerance alone
    /// would let through.
    @discardableResult
    func check(
        _ strategy: any AttentionStrategy, _ shape: AttentionShape, _ pattern: String, _ precision: Precision,
        seed: UInt64, threads: Int = 2, file: StaticString = #filePath, line: UInt = #line
    ) throws -> ReferenceError? {
        let p = try MaskPattern(parsing: pattern)
        guard strategy.supports(p) else { return nil }
        let run = try ReferenceCheck.run(
            strategy, shape: shape, pattern: p, seed: seed, threads: threads, precision: precision)
        let label =
            "\(strategy.name)\(strategy.tileKernel.map { " [\($0)]" } ?? "") \(precision) \(shape) \(pattern): \(run.error)"
        XCTAssert(run.error.withinTolerance(for: precision), label, file: file, line: line)
        if precision != .f32, run.error.maxReference > 0, shape.queryElementCount >= 256 {
            XCTAssertLessThanOrEqual(
                run.error.relativeFrobenius, precision.unitRoundoff / 2, label, file: file, line: line)
        }
        return run.error
    }

    static let patterns = [
        "full", "causal", "window:0:3", "window:5:2", "window:3:g2", "bigbird:16", "bigbird:8:w1:g0:r2:s7:causal",
        "fixed:8:3:causal",
    ]

    func testEveryStrategyAndKernelAtAwkwardLengths() throws {
        for precision in [Precision.f16, .bf16] {
            for strategy in StrategyCorrectnessTests.strategies {
                for (nq, nk) in [(1, 1), (1, 300), (300, 7), (97, 61), (130, 130)] {
                    let shape = try AttentionShape(heads: 2, queryLength: nq, keyLength: nk, headDim: 16)
                    for pattern in Self.patterns {
                        try check(strategy, shape, pattern, precision, seed: UInt64(nq * 31 + nk))
                    }
                }
            }
        }
    }

    func testGroupedHeadsOddHeadDimsAndSplitKeys() throws {
        for precision in [Precision.f16, .bf16] {
            for strategy in StrategyCorrectnessTests.strategies {
                for (h, g, d) in [(6, 2, 7), (6, 1, 33), (4, 4, 80)] {
                    let shape = try AttentionShape(
                        batch: 2, heads: h, kvHeads: g, queryLength: 45, keyLength: 70, headDim: d)
                    for pattern in ["full", "causal", "window:9:4:g2", "bigbird:16"] {
                        try check(strategy, shape, pattern, precision, seed: UInt64(h * 100 + d), threads: 3)
                    }
                }
                // Decoding: one query against a long cache, its keys split across workers.
                let decode = try AttentionShape(heads: 4, kvHeads: 1, queryLength: 1, keyLength: 5000, headDim: 64)
                for pattern in ["full", "window:700"] { try check(strategy, decode, pattern, precision, seed: 7) }
            }
        }
    }

    /// Blocks of one to eight rows read K and V as stored and widen them in
    /// registers, several keys at a time: every row count, key counts no
    /// group of keys divides, and head dims no vector divides.
    func testFewRowBlocksAtEveryRowCount() throws {
        for precision in Precision.allCases {
            for strategy in StrategyCorrectnessTests.strategies {
                for rows in 1 ... 8 {
                    for (nk, d) in [(1, 16), (3, 19), (37, 40), (130, 7)] {
                        let shape = try AttentionShape(
                            heads: rows, kvHeads: 1, queryLength: 1, keyLength: nk, headDim: d)
                        for pattern in ["full", "window:20"] {
                            try check(strategy, shape, pattern, precision, seed: UInt64(rows * 1000 + nk), threads: 1)
                        }
                    }
                }
            }
        }
    }

    func testTilesThatDoNotDivide() throws {
        let shape = try AttentionShape(heads: 2, kvHeads: 1, queryLength: 203, keyLength: 157, headDim: 24)
        for precision in [Precision.f16, .bf16] {
            for tile in [(1, 1), (7, 5), (24, 40), (3, 300)] {
                let options = StrategyOptions(tile: try TileSize(rows: tile.0, columns: tile.1))
                for name in ["tiled", "sliding", "block-sparse"] {
                    for kernel in KernelTable.available {
                        var o = options
                        o.kernel = kernel
                        let strategy = try StrategyRegistry.strategy(named: name, options: o)
                        for pattern in ["causal", "window:20:3:g4", "bigbird:16:causal"] {
                            try check(strategy, shape, pattern, precision, seed: UInt64(tile.0 * 7 + tile.1))
                        }
                    }
                }
            }
        }
    }

    func testOutputPrecisionMustMatchTheInputs() throws {
        let shape = try AttentionShape(heads: 1, queryLength: 4, headDim: 8)
        let inputs = AttentionInputs.random(shape: shape, seed: 1, precision: .bf16)
        let mask = try AttentionMask(.full, shape: shape)
        XCTAssertThrowsError(
            try TiledAttention().forward(inputs, mask: mask, output: Tensor(count: shape.queryElementCount), threads: 1)
        ) { XCTAssert("\($0)".contains("output is f32, the inputs are bf16"), "\($0)") }
    }

    func testHalfPrecisionWorkspacesArePredicted() throws {
        let shape = try AttentionShape(heads: 8, queryLength: 4096, headDim: 64)
        for strategy in StrategyCorrectnessTests.strategies
        where StrategyRegistry.builtIn.contains(where: { $0.name == strategy.name }) {
            let mask = try AttentionMask(type(of: strategy).benchmarkPattern, shape: shape)
            let f32 = strategy.predictedExtraBytes(shape: shape, mask: mask, threads: 2, precision: .f32)
            let f16 = strategy.predictedExtraBytes(shape: shape, mask: mask, threads: 2, precision: .f16)
            XCTAssertGreaterThan(f16, f32, "\(strategy.name): the widened copies cost memory")
        }
    }
}

extension HalfPrecisionTests {
    /// Sliding windows hold widened rows across query blocks
    /// (``WidenedBand``): long enough that the band moves many times, heads
    /// handed between workers, global keys behind the band, and grouped heads.
    func testSlidingBandsAcrossManyBlocks() throws {
        let sliding = try StrategyRegistry.strategy(named: "sliding", options: .init())
        for precision in [Precision.f16, .bf16] {
            for (h, g, nq, nk, d) in [(2, 2, 1500, 1500, 24), (4, 2, 900, 1300, 33)] {
                let shape = try AttentionShape(heads: h, kvHeads: g, queryLength: nq, keyLength: nk, headDim: d)
                for pattern in ["window:200:20", "window:77:0:g3", "window:31:150"] {
                    for threads in [1, 3] {
                        try check(sliding, shape, pattern, precision, seed: UInt64(nq + threads), threads: threads)
                    }
                }
            }
        }
    }

    /// A strategy keeps its workspaces between calls: rows widened in one
    /// call must not answer for new values at the same address in the next.
    func testSlidingReadsNewValuesAtTheSameAddress() throws {
        let sliding = try StrategyRegistry.strategy(named: "sliding", options: .init())
        let shape = try AttentionShape(heads: 1, queryLength: 600, headDim: 16)
        let mask = try AttentionMask(MaskPattern(parsing: "window:100"), shape: shape)
        let inputs = AttentionInputs.random(shape: shape, seed: 4, precision: .f16)
        let output = inputs.makeOutput()
        try sliding.forward(inputs, mask: mask, output: output, threads: 1)
        let other = AttentionInputs.random(shape: shape, seed: 5)
        for (tensor, from) in [(inputs.key, other.key), (inputs.value, other.value)] {
            from.toArray().withUnsafeBufferPointer { tensor.write(from: $0.baseAddress!, count: $0.count, at: 0) }
        }
        try sliding.forward(inputs, mask: mask, output: output, threads: 1)
        let error = ReferenceCheck.compare(output.toArray(), ReferenceAttention.forward(inputs, mask: mask))
        XCTAssert(error.withinTolerance(for: .f16), "\(error)")
    }
}
