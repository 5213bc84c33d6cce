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

    func testCausalGeneratorsKeepNothingAboveTheDiagonal() throws {
        for layout in [try BlockLayout.bigBird(queryLength: 500, keyLength: 500, blockSize: 32, causal: true),
                       try BlockLayout.fixed(queryLength: 500, keyLength: 500, blockSize: 32, stride: 4, causal: true)] {
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
        XCTAssertThrowsError(try AttentionMask(.layoutFile(path: url.path, causal: false), queryLength: 100, keyLength: 200)) {
            XCTAssert("\($0)".hasPrefix("layout file '\(url.path)': layout has 19x13 blocks"), "\($0)")
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

    func testMalformedFiles() {
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
        XCTAssertThrowsError(try AttentionMask(.layoutFile(path: "/nonexistent/l.txt", causal: false), queryLength: 4, keyLength: 4)) {
            XCTAssert("\($0)".hasPrefix("layout file '/nonexistent/l.txt': cannot be read"), "\($0)")
        }
    }
}
