import Attention
import XCTest

@testable import BenchHarness

final class SummaryTableTests: XCTestCase {
    private func record(_ strategy: String, _ precision: Precision) throws -> SweepRecord {
        let shape = try AttentionShape(heads: 8, queryLength: 1024, headDim: 64)
        let key = CaseKey(strategy: strategy, pattern: "full", shape: shape, precision: precision, threads: 2, tile: "")
        return SweepRecord(key: key, status: .unsupported, inputBytes: 0, sgemmGflops: nil, seed: 0)
    }

    /// Cases that differ only in dtype are separate rows, named in a dtype
    /// column: one row for both would show one precision's cell and drop
    /// the other's.
    func testEveryPrecisionHasItsOwnRow() throws {
        let table = SummaryTable.render([
            try record("tiled", .f32), try record("dense", .f32), try record("tiled", .bf16),
        ])
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssert(lines[0].hasPrefix("pattern  N     d   dtype"), lines[0])
        let rows = lines.filter { $0.hasPrefix("full") }
        XCTAssertEqual(rows.count, 2, table)
        XCTAssertEqual(rows.map { $0.split(separator: " ", omittingEmptySubsequences: true)[3] }, ["f32", "bf16"])
        // bf16 has no dense case: its cell is empty, not the f32 one.
        XCTAssertEqual(rows[1].split(separator: " ", omittingEmptySubsequences: true).count, 5, rows[1])
    }

    /// A float32-only sweep keeps the table without a dtype column.
    func testFloat32OnlyHasNoDTypeColumn() throws {
        let table = SummaryTable.render([try record("tiled", .f32)])
        XCTAssertFalse(table.contains("dtype"), table)
    }
}
