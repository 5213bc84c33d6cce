import ArgumentParser
import Attention
import BenchHarness
import XCTest

@testable import attnbench

/// The grid's axes are declared once (``CaseAxis/all``); each reader of that
/// table must agree with the others and with `attnbench run`.
final class CaseAxisTests: XCTestCase {
    /// Awkward cases: one query row against keys no tile divides, grouped
    /// heads, an odd head dim, a tile, a kernel and `--tuning none`.
    static func configs() throws -> [CaseConfig] {
        let policy = RepetitionPolicy(warmup: 2, minReps: 3, maxReps: 7, minTime: 0.3)
        return [
            CaseConfig(
                strategy: "tiled",
                shape: try AttentionShape(heads: 8, kvHeads: 2, queryLength: 1, keyLength: 4097, headDim: 7),
                pattern: "full", threads: 2, seed: 9, repetitions: policy, verify: true),
            CaseConfig(
                strategy: "block-sparse", tile: "16x32", kernel: "portable", tuning: "none",
                shape: try AttentionShape(batch: 3, heads: 4, queryLength: 33, keyLength: 65, headDim: 5),
                pattern: "bigbird:16", threads: 1, seed: 0, repetitions: policy, verify: false),
            CaseConfig(
                strategy: "sliding", shape: try AttentionShape(heads: 1, queryLength: 1, headDim: 1),
                pattern: "window:1", threads: 1, seed: UInt64.max, repetitions: .fixed(warmup: 0, reps: 1), verify: true
            ),
        ]
    }

    /// A child's arguments name the same case: `attnbench run` parses them
    /// back to the configuration they came from.
    func testChildArgumentsParseBackToTheirCase() throws {
        for config in try Self.configs() {
            let arguments = CaseExecutor.childArguments(config)
            let command = try XCTUnwrap(try Attnbench.parseAsRoot(arguments) as? RunCommand, "\(arguments)")
            XCTAssertEqual(try command.caseConfig(), config, "\(arguments)")
        }
    }

    /// An axis at its run default is left out of the child's arguments, so
    /// a build older than the axis still answers.
    func testAnAxisAtItsRunDefaultIsLeftOut() throws {
        let arguments = CaseExecutor.childArguments(try Self.configs()[0])
        XCTAssertFalse(arguments.contains("--tile"), "\(arguments)")
        for axis in CaseAxis.all where axis.runDefault == nil {
            XCTAssert(arguments.contains(axis.runFlag), "\(axis.runFlag) missing from \(arguments)")
        }
    }

    /// The report's key columns are the axes and `machine`, and every one
    /// of them is in the header.
    func testKeyColumnsAreTheAxesAndMachine() {
        XCTAssertEqual(ReportSchema.keyColumns, CaseAxis.all.map(\.column) + ["machine"])
        for column in ReportSchema.keyColumns { XCTAssert(ReportSchema.header.contains(column), column) }
    }

    /// A key survives its report row; a row whose key cell is missing or
    /// holds no value of its axis has no key; a missing optional cell
    /// (`tile`) reads as empty.
    func testAKeyReadsBackFromItsRow() throws {
        for config in try Self.configs() {
            let key = CaseKey(config)
            var row = Dictionary(uniqueKeysWithValues: CaseAxis.all.map { ($0.column, $0.cell(key)) })
            XCTAssertEqual(CaseKey(row: row), key)
            row["machine"] = "somewhere"
            XCTAssertEqual(CaseKey(row: row)?.machine, "somewhere")
            var bad = row
            bad["head_dim"] = "7.5"
            XCTAssertNil(CaseKey(row: bad))
            bad = row
            bad["strategy"] = nil
            XCTAssertNil(CaseKey(row: bad))
            bad = row
            bad["tile"] = nil
            XCTAssertEqual(CaseKey(row: bad)?.tile, "")
        }
    }
}
