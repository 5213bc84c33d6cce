import Attention
import AttentionTestSupport
import Foundation
import XCTest

final class BlockLayoutTests: XCTestCase {
    func testBigBirdIsDeterministicAndHasItsParts() throws {
        let a = try BlockLayout.bigBird(queryLength: 1024, keyLength: 1024, blockSize: 64, seed: 3)
        let b = try BlockLayout.bigBird(queryLength: 1024, keyLength: 1024, blockSize: 64, seed: 3)
        let c = try BlockLayout.bigBird(queryLength: 1024, keyLength: 1024, blockSize: 64, seed: 4)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        for r in 1 ..< a.queryBlocks {
            let kept = Set(a.keptBlocks(ofRow: r))
            XCTAssert(kept.isSuperset(of: [max(r - 1, 0), r, min(r + 1, 15), 0]), "row \(r): \(kept)")
            // window (≤3) + global (1) + random (3), overlaps aside
            XCTAssertEqual(kept.count, Set([max(r - 1, 0), r, min(r + 1, 15), 0]).count + 3, "row \(r)")
        }
        XCTAssertEqual(Array(a.keptBlocks(ofRow: 0)), Array(0 ..< 16), "the global row attends everything")
    }

    /// The random blocks are drawn without listing every candidate block; the
    /// draws must be the ones a plain list of candidates gives (layouts, and
    /// so benchmark results, stay the same for the same seed).
    func testBigBirdRandomBlocksMatchTheCandidateList() throws {
        func plain(_ nq: Int, _ nk: Int, _ b: Int, _ w: Int, _ g: Int, _ rCount: Int, _ seed: UInt64, _ causal: Bool)
            -> [[Int]]
        {
            let qBlocks = (nq - 1) / b + 1, kBlocks = (nk - 1) / b + 1, offset = nk - nq
            func block(_ i: Int) -> Int { min(max(i + offset, 0) / b, kBlocks - 1) }
            return (0 ..< qBlocks).map { r in
                let diag = block(r * b) ... block(min((r + 1) * b, nq) - 1)
                let limit = causal ? diag.upperBound : kBlocks - 1
                var kept = Set<Int>()
                if w > 0 {
                    let from = max(diag.lowerBound - w / 2, 0), to = min(diag.upperBound + (w - 1) / 2, limit)
                    if from <= to { for c in from ... to { kept.insert(c) } }
                }
                for c in 0 ..< min(g, kBlocks) where c <= limit { kept.insert(c) }
                if diag.lowerBound < g { for c in 0 ... limit { kept.insert(c) } }
                var candidates = (0 ... limit).filter { !kept.contains($0) }
                var rng = NormalGenerator(seed: seed, stream: UInt64(r) &+ 0x5EED)
                for _ in 0 ..< min(rCount, candidates.count) {
                    kept.insert(candidates.remove(at: Int(rng.nextBits() % UInt64(candidates.count))))
                }
                return kept.sorted()
            }
        }
        var random = NormalGenerator(seed: 11)
        for trial in 0 ..< 40 {
            let b = [1, 3, 16, 64][trial % 4]
            let nq = 1 + Int(random.nextBits() % 900), nk = 1 + Int(random.nextBits() % 900)
            let w = Int(random.nextBits() % 5), g = Int(random.nextBits() % 3), r = Int(random.nextBits() % 6)
            let causal = trial % 3 == 0, seed = random.nextBits()
            let layout = try BlockLayout.bigBird(
                queryLength: nq, keyLength: nk, blockSize: b, windowBlocks: w,
                globalBlocks: g, randomBlocks: r, seed: seed, causal: causal)
            let expected = plain(nq, nk, b, w, g, r, seed, causal)
            XCTAssertEqual(
                (0 ..< layout.queryBlocks).map { Array(layout.keptBlocks(ofRow: $0)) }, expected,
                "Nq \(nq) Nk \(nk) b \(b) w \(w) g \(g) r \(r) causal \(causal)")
        }
    }

    /// The size bound holds for the generated layouts and is known without building them.
    func testPredictedLayoutBytesBoundTheLayout() throws {
        for (pattern, n) in [
            ("bigbird:64", 8192), ("bigbird:16:w5:g2:r4:causal", 3000), ("fixed:8:4", 2048), ("fixed:1:1", 300),
        ] {
            let p = try MaskPattern(parsing: pattern)
            let mask = try AttentionMask(p, queryLength: n, keyLength: n)
            let layout = try XCTUnwrap(mask.blockLayout, pattern)
            let actual = BlockLayout.bytesWhileBuilding(
                keptBlocks: layout.columns.count, queryBlocks: layout.queryBlocks)
            XCTAssertLessThanOrEqual(actual, p.predictedResolvedBytes(queryLength: n, keyLength: n), pattern)
        }
        // fixed:1:1 at N = 2^20 keeps ~N²/2 blocks: predicted in O(1), far beyond any machine.
        let huge = try MaskPattern(parsing: "fixed:1:1").predictedResolvedBytes(
            queryLength: 1 << 20, keyLength: 1 << 20)
        XCTAssertGreaterThan(huge, 1 << 40)
    }

    func testCausalGeneratorsKeepNothingAboveTheDiagonal() throws {
        for layout in [
            try BlockLayout.bigBird(queryLength: 500, keyLength: 500, blockSize: 32, causal: true),
            try BlockLayout.fixed(queryLength: 500, keyLength: 500, blockSize: 32, stride: 4, causal: true),
        ] {
            XCTAssert(layout.causal)
            for r in 0 ..< layout.queryBlocks {
                XCTAssert(layout.keptBlocks(ofRow: r).allSatisfy { $0 <= r }, "row \(r)")
                XCTAssert(layout.keptBlocks(ofRow: r).contains(r), "diagonal of row \(r)")
            }
        }
    }

    func testFixedPattern() throws {
        let l = try BlockLayout.fixed(queryLength: 8 * 10, keyLength: 80, blockSize: 8, stride: 3)
        XCTAssertEqual(Array(l.keptBlocks(ofRow: 0)), [0, 1, 2])
        XCTAssertEqual(Array(l.keptBlocks(ofRow: 4)), [2, 3, 4, 5])
        XCTAssertEqual(Array(l.keptBlocks(ofRow: 9)), [2, 5, 8, 9])
        let c = try BlockLayout.fixed(queryLength: 80, keyLength: 80, blockSize: 8, stride: 3, causal: true)
        XCTAssertEqual(Array(c.keptBlocks(ofRow: 4)), [2, 3, 4])
    }

    func testFileRoundTrip() throws {
        let layout = try BlockLayout.bigBird(queryLength: 300, keyLength: 200, blockSize: 16, seed: 1)
        let parsed = try BlockLayout.parse(layout.fileText(), path: "x")
        XCTAssertEqual(parsed, layout)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("layout-\(UUID()).txt")
        try layout.fileText().write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let mask = try AttentionMask(.layoutFile(path: url.path, causal: false), queryLength: 300, keyLength: 200)
        XCTAssertEqual(mask.blockLayout, layout)
        XCTAssertThrowsError(
            try AttentionMask(.layoutFile(path: url.path, causal: false), queryLength: 100, keyLength: 200)
        ) {
            XCTAssertEqual(
                "\($0)",
                "layout file '\(url.path)', line 10: more than the 7 rows that lengths 100x200 in blocks of 16 need")
        }
    }

    /// A layout read from a file drives every strategy that takes block layouts
    /// to the reference's output, causal or not.
    func testLayoutFileThroughTheStrategies() throws {
        let shape = try AttentionShape(heads: 4, kvHeads: 2, queryLength: 90, keyLength: 70, headDim: 32)
        let layout = try BlockLayout(blockSize: 16, keyBlocks: 5, rows: [[0], [1, 3], [], [0, 4], [2, 3, 4], [4]])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("layout-\(UUID()).txt")
        try layout.fileText().write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        for causal in [false, true] {
            let pattern = try MaskPattern(parsing: "layout:\(url.path)" + (causal ? ":causal" : ""))
            for entry in StrategyRegistry.all {
                let strategy = entry.make(.init())
                guard strategy.supports(pattern) else { continue }
                let run = try ReferenceCheck.run(strategy, shape: shape, pattern: pattern, seed: 9)
                XCTAssert(run.error.withinTolerance, "\(strategy.name) causal=\(causal): \(run.error)")
            }
        }
    }

    func testMalformedFiles() throws {
        let cases: [(String, String)] = [
            ("", "layout file 'f': no 'block B' line"),
            ("block 0\n1\n", "layout file 'f', line 1: expected 'block B' with B ≥ 1 before the rows, got 'block 0'"),
            ("# c\nblock 4\n", "layout file 'f': no rows of 0/1 after 'block 4'"),
            ("block 4\n10\n1x\n", "layout file 'f', line 3: column 2 is 'x'; rows hold only 0 and 1"),
            ("block 4\n10\n\n101\n", "layout file 'f', line 4: row has 3 columns, earlier rows have 2"),
            ("101\n", "layout file 'f', line 1: expected 'block B' with B ≥ 1 before the rows, got '101'"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try BlockLayout.parse(text, path: "f")) { XCTAssertEqual("\($0)", message) }
        }
        // CRLF line ends read like LF (Swift counts "\r\n" as one character, so
        // splitting on "\n" once read a whole CRLF file as one line and
        // quoted all of it in the error).
        let crlf = try? BlockLayout.parse("# windows\r\nblock 4\r\n10\r\n11\r\n", path: "f")
        XCTAssertEqual(crlf?.queryBlocks, 2)
        XCTAssertEqual(crlf?.keptBlocks(ofRow: 1), [0, 1])
        XCTAssertThrowsError(try BlockLayout.parse("block 4\r\n10\r\n1x\r\n", path: "f")) {
            XCTAssertEqual("\($0)", "layout file 'f', line 3: column 2 is 'x'; rows hold only 0 and 1")
        }
        // Quotes are cut at 40 characters; rows that cannot fit the lengths fail as they are read.
        let long = String(repeating: "z", count: 100_000)
        XCTAssertThrowsError(try BlockLayout.parse(long, path: "f")) {
            XCTAssertEqual(
                "\($0)",
                "layout file 'f', line 1: expected 'block B' with B ≥ 1 before the rows, got '\(long.prefix(40))…' (100000 characters)"
            )
        }
        let lengths = (query: 8, key: 8)
        XCTAssertThrowsError(
            try BlockLayout.parse(
                "block 4\n" + String(repeating: "1", count: 1_000_000) + "\n", path: "f", lengths: lengths)
        ) {
            XCTAssertEqual(
                "\($0)", "layout file 'f', line 2: row has 1000000 columns; lengths 8x8 in blocks of 4 need 2")
        }
        XCTAssertThrowsError(try BlockLayout.parse("block 4\n11\n11\n11\n", path: "f", lengths: lengths)) {
            XCTAssertEqual(
                "\($0)", "layout file 'f', line 4: more than the 2 rows that lengths 8x8 in blocks of 4 need")
        }
        XCTAssertThrowsError(
            try AttentionMask(.layoutFile(path: "/nonexistent/l.txt", causal: false), queryLength: 4, keyLength: 4)
        ) {
            XCTAssert("\($0)".hasPrefix("layout file '/nonexistent/l.txt': cannot be read"), "\($0)")
        }
    }
}
