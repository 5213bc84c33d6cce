import Attention
import AttentionTestSupport
import XCTest

final class MaskTests: XCTestCase {
    func testParsingRoundTrips() throws {
        for text in [
            "full", "causal", "window:4", "window:5:2", "window:3:g2", "window:6:0:g3",
            "bigbird:64", "bigbird:64:w5:g2:r1:s9:causal", "fixed:8:3", "fixed:8:3:causal",
            "layout:some/file.txt", "layout:a:b.txt:causal",
        ] {
            XCTAssertEqual(try MaskPattern(parsing: text).description, text)
        }
        XCTAssertEqual(try MaskPattern(parsing: "window:7"), .window(.init(left: 7, right: 7)))
        XCTAssertEqual(try MaskPattern(parsing: "bigbird:32"), .bigBird(.init(blockSize: 32)))
    }

    func testMalformedPatternsGiveOneLineErrors() {
        for text in [
            "", "ful", "window", "window:", "window:-1", "window:a", "window:1:2:3", "window:1:causal",
            "bigbird", "bigbird:0", "bigbird:16:x3", "fixed:8", "fixed:0:2", "layout:", "causal:3",
        ] {
            XCTAssertThrowsError(try MaskPattern(parsing: text), text) { error in
                let message = "\(error)"
                XCTAssert(message.hasPrefix("invalid pattern: '\(text)'"), message)
                XCTAssert(message.contains("allowed:"), message)
                XCTAssertFalse(message.contains("\n"))
            }
        }
    }

    /// Brute force over every pair: counts, coverage and the element mask
    /// must agree with `isAttended`.
    func testCountsCoverageAndMaskAgreeWithTheDefinition() throws {
        var rng = TestRandom(seed: 11)
        for text in StrategyCorrectnessTests.patterns {
            for (nq, nk) in [(1, 1), (13, 13), (5, 29), (29, 5), (40, 37)] {
                let mask = try AttentionMask(try MaskPattern(parsing: text), queryLength: nq, keyLength: nk)
                var pairs = 0
                for i in 0 ..< nq {
                    let row = (0 ..< nk).filter { mask.isAttended(query: i, key: $0) }.count
                    XCTAssertEqual(mask.attendedKeyCount(ofRow: i), row, "\(text) \(nq)x\(nk) row \(i)")
                    pairs += row
                }
                XCTAssertEqual(mask.attendedPairs, pairs, "\(text) \(nq)x\(nk)")
                for _ in 0 ..< 30 {
                    let q0 = rng.int(in: 0 ... nq - 1), k0 = rng.int(in: 0 ... nk - 1)
                    let queries = q0 ..< rng.int(in: q0 + 1 ... nq), keys = k0 ..< rng.int(in: k0 + 1 ... nk)
                    let attended = queries.flatMap { i in keys.map { mask.isAttended(query: i, key: $0) } }
                    let expected: TileCoverage =
                        attended.allSatisfy { $0 } ? .full : (attended.contains(true) ? .partial : .empty)
                    let got = mask.coverage(queries: queries, keys: keys)
                    // Coverage may say partial for a tile it cannot prove full or empty,
                    // but never empty or full wrongly.
                    if got != .partial { XCTAssertEqual(got, expected, "\(text) \(queries) \(keys)") }
                    if case .blocks = mask.pattern.kind {
                    } else {
                        XCTAssertEqual(got, expected, "\(text) \(queries) \(keys)")
                    }

                    var tile = [Float](repeating: 1, count: queries.count * keys.count)
                    tile.withUnsafeMutableBufferPointer {
                        mask.applyMask(queries: queries, keys: keys, scores: $0.baseAddress!, rowStride: keys.count)
                    }
                    XCTAssertEqual(tile.map { $0 == 1 }, attended, "\(text) \(queries) \(keys)")
                }
            }
        }
    }

    func testBottomRightAlignment() throws {
        // Decoding: one query sees every key under causal, its window at the end.
        let causal = try AttentionMask(.causal, queryLength: 1, keyLength: 100)
        XCTAssertEqual(causal.attendedPairs, 100)
        let window = try AttentionMask(.window(.init(left: 3, right: 3)), queryLength: 1, keyLength: 100)
        XCTAssertEqual((0 ..< 100).filter { window.isAttended(query: 0, key: $0) }, [96, 97, 98, 99])
        // More queries than keys: the first rows precede every key.
        let early = try AttentionMask(.causal, queryLength: 10, keyLength: 4)
        XCTAssertEqual((0 ..< 10).map { early.attendedKeyCount(ofRow: $0) }, [0, 0, 0, 0, 0, 0, 1, 2, 3, 4])
    }

    func testGlobalTokens() throws {
        let m = try AttentionMask(try MaskPattern(parsing: "window:1:g2"), queryLength: 10, keyLength: 10)
        XCTAssertEqual((0 ..< 10).filter { m.isAttended(query: 7, key: $0) }, [0, 1, 6, 7, 8])
        XCTAssertEqual((0 ..< 10).filter { m.isAttended(query: 1, key: $0) }, Array(0 ..< 10))
        let c = try AttentionMask(try MaskPattern(parsing: "window:1:0:g2"), queryLength: 10, keyLength: 10)
        XCTAssertEqual((0 ..< 10).filter { c.isAttended(query: 1, key: $0) }, [0, 1])
        XCTAssertEqual((0 ..< 10).filter { c.isAttended(query: 7, key: $0) }, [0, 1, 6, 7])
    }

    /// Extents and block sizes as large as a user can type: no overflow.
    func testHugeParametersAreSafe() throws {
        let shape = try AttentionShape(heads: 1, queryLength: 37, keyLength: 21, headDim: 16)
        for text in [
            "window:\(Int.max)", "window:\(Int.max):\(Int.max):g\(Int.max)", "bigbird:\(Int.max)",
            "fixed:\(Int.max):\(Int.max)",
        ] {
            let pattern = try MaskPattern(parsing: text)
            for entry in StrategyRegistry.all where entry.make(.init()).supports(pattern) {
                let run = try ReferenceCheck.run(entry.make(.init()), shape: shape, pattern: pattern, seed: 1)
                XCTAssert(run.error.withinTolerance, "\(entry.name) \(text)")
                XCTAssertEqual(run.mask.attendedPairs, 37 * 21, text)
            }
        }
    }

    /// With Nq ≠ Nk a query block can straddle two chunks of the fixed
    /// pattern; every query must still see its own position under causal.
    func testFixedPatternKeepsEachQuerysOwnPosition() throws {
        for (nq, nk, b, stride) in [(20, 23, 8, 2), (37, 50, 8, 3), (50, 37, 4, 2), (9, 64, 16, 1)] {
            let mask = try AttentionMask(
                .fixed(.init(blockSize: b, stride: stride, causal: true)), queryLength: nq, keyLength: nk)
            for i in 0 ..< nq where i + nk - nq >= 0 {
                XCTAssert(mask.isAttended(query: i, key: i + nk - nq), "fixed:\(b):\(stride) \(nq)x\(nk) row \(i)")
            }
        }
    }

    func testDensity() throws {
        XCTAssertEqual(try AttentionMask(.full, queryLength: 9, keyLength: 4).density, 1)
        XCTAssertEqual(try AttentionMask(.causal, queryLength: 4, keyLength: 4).density, 10.0 / 16)
    }
}

final class ShapeTests: XCTestCase {
    func testInvalidShapesThrowNamingTheSize() {
        let cases: [(() throws -> AttentionShape, String)] = [
            ({ try AttentionShape(heads: 0, queryLength: 4, headDim: 8) }, "heads must be at least 1, got 0"),
            ({ try AttentionShape(heads: 2, queryLength: -1, headDim: 8) }, "seq-len must be at least 1, got -1"),
            (
                { try AttentionShape(heads: 2, queryLength: 4, keyLength: 0, headDim: 8) },
                "kv-len must be at least 1, got 0"
            ),
            ({ try AttentionShape(heads: 2, queryLength: 4, headDim: 0) }, "head-dim must be at least 1, got 0"),
            ({ try AttentionShape(batch: 0, heads: 2, queryLength: 4, headDim: 8) }, "batch must be at least 1, got 0"),
            (
                { try AttentionShape(heads: 6, kvHeads: 4, queryLength: 4, headDim: 8) },
                "heads (6) must be a multiple of kv-heads (4)"
            ),
        ]
        for (make, message) in cases {
            XCTAssertThrowsError(try make()) { XCTAssertEqual("\($0)", "invalid shape: \(message)") }
        }
    }

    func testLayoutOffsets() throws {
        let s = try AttentionShape(batch: 2, heads: 6, kvHeads: 2, queryLength: 5, keyLength: 7, headDim: 4)
        XCTAssertEqual(s.groupSize, 3)
        XCTAssertEqual(s.keyOffset(batch: 0, head: 2), 0)
        XCTAssertEqual(s.keyOffset(batch: 0, head: 3), 7 * 4)
        XCTAssertEqual(s.keyOffset(batch: 1, head: 5), (2 + 1) * 7 * 4)
        XCTAssertEqual(s.queryOffset(batch: 1, head: 5), 11 * 5 * 4)
        XCTAssertEqual(s.scale, 0.5)
        let elements: Int = 2 * 2 * 6 * 5 * 4 + 2 * 2 * 2 * 7 * 4
        XCTAssertEqual(s.tensorBytes(.f32), elements * 4)
        XCTAssertEqual(s.tensorBytes(.bf16), elements * 2)
    }

    /// The keys some query attends, against counting them pair by pair.
    func testAttendedKeyUnionCountMatchesBruteForce() throws {
        for (nq, nk) in [(1, 1), (1, 300), (16, 1000), (97, 61), (130, 130)] {
            for text in [
                "full", "causal", "window:0", "window:5:2", "window:16:0", "window:3:g2", "window:64:0:g5",
                "bigbird:16", "bigbird:16:causal", "bigbird:8:w1:g0:r2:s7", "fixed:8:3:causal",
            ] {
                let mask = try AttentionMask(try MaskPattern(parsing: text), queryLength: nq, keyLength: nk)
                let expected = (0 ..< nk).filter { j in (0 ..< nq).contains { mask.isAttended(query: $0, key: j) } }
                XCTAssertEqual(mask.attendedKeyUnionCount(), expected.count, "\(text) \(nq)x\(nk)")
            }
        }
    }
}
