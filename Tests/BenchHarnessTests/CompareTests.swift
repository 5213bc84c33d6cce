import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

/// The comparison rule on synthetic reports.
final class CompareTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "compare-tests") }

    override func tearDown() { directory.remove() }

    /// A timed row of `strategy` at length `n` with these repetition times.
    static func row(
        _ strategy: String, n: Int = 1024, times: [Double], memory: Int = 1 << 20, sgemm: Double = 200,
        status: String = "ok"
    ) -> [String: String] {
        var r = Dictionary(uniqueKeysWithValues: ReportSchema.header.map { ($0, "") })
        let median = try! SampleStatistics(times).median
        r["schema_version"] = "\(ReportSchema.version)"
        r["status"] = status
        r["strategy"] = strategy
        r["pattern"] = "full"
        for (k, v) in [
            ("batch", 1), ("heads", 8), ("kv_heads", 8), ("seq_len", n), ("kv_len", n), ("head_dim", 64),
            ("threads", 2),
        ] {
            r[k] = "\(v)"
        }
        r["times_ms"] = times.map { "\($0)" }.joined(separator: ";")
        r["median_ms"] = "\(median)"
        r["peak_extra_bytes"] = "\(memory)"
        r["sgemm_gflops"] = "\(sgemm)"
        return r
    }

    func write(_ name: String, _ rows: [[String: String]]) throws -> ReportFile {
        let path = directory.path(name)
        let text =
            CSVTable.line(ReportSchema.header)
            + rows.map { r in CSVTable.line(ReportSchema.header.map { r[$0]! }) }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try ReportFile(path: path)
    }

    let steady = [10.0, 10.2, 9.9, 10.1, 10.0, 10.3, 9.8, 10.1]

    func compare(
        _ a: [[String: String]], _ b: [[String: String]], _ configure: (inout ComparisonOptions) -> Void = { _ in }
    ) throws -> ComparisonReport {
        var options = ComparisonOptions()
        configure(&options)
        return try ReportComparison.compare(
            baseline: write("a-\(UUID()).csv", a), current: write("b-\(UUID()).csv", b), options: options)
    }

    func testEqualReportsHaveNoRegression() throws {
        let rows = [Self.row("dense", times: steady), Self.row("tiled", times: steady.map { $0 / 2 })]
        let report = try compare(rows, rows)
        XCTAssertEqual(report.regressions, 0)
        XCTAssertEqual(report.count(.unchanged), 2)
    }

    func testConsistentTwofoldSlowdownIsARegression() throws {
        let report = try compare([Self.row("tiled", times: steady)], [Self.row("tiled", times: steady.map { $0 * 2 })])
        XCTAssertEqual(report.regressions, 1)
        let c = report.cases[0]
        XCTAssertEqual(c.timeVerdict, .regression)
        XCTAssertEqual(c.ratio!, 2, accuracy: 0.01)
        XCTAssertLessThan(c.pValue!, 0.01)
    }

    func testSlowdownWithinNoiseIsUnchanged() throws {
        let noisy = [8.0, 14.0, 9.0, 13.0, 10.0, 12.5, 8.5, 11.0]
        let current = [9.5, 15.5, 10.0, 14.5, 11.5, 14.0, 9.0, 12.8]  // median +12%, distributions overlap
        let report = try compare([Self.row("tiled", times: noisy)], [Self.row("tiled", times: current)])
        XCTAssertGreaterThan(report.cases[0].ratio!, 1.1)
        XCTAssertGreaterThanOrEqual(report.cases[0].pValue!, 0.05)
        XCTAssertEqual(report.cases[0].verdict, .unchanged)
        XCTAssertEqual(report.cases[0].note, "time change within noise")
    }

    func testImprovement() throws {
        let report = try compare(
            [Self.row("tiled", times: steady)], [Self.row("tiled", times: steady.map { $0 * 0.6 })])
        XCTAssertEqual(report.cases[0].verdict, .improvement)
        XCTAssertEqual(report.regressions, 0)
    }

    func testMemoryGrowthIsARegressionBeyondTheSlack() throws {
        let grown = try compare(
            [Self.row("dense", times: steady, memory: 10 << 20)], [Self.row("dense", times: steady, memory: 20 << 20)])
        XCTAssertEqual(grown.cases[0].memoryVerdict, .regression)
        XCTAssertEqual(grown.regressions, 1)
        let small = try compare(
            [Self.row("dense", times: steady, memory: 500 << 10)], [Self.row("dense", times: steady, memory: 800 << 10)]
        )
        XCTAssertEqual(small.cases[0].memoryVerdict, .unchanged, "page-level growth under 1 MiB is noise")
    }

    func testMissingAndNewCases() throws {
        let report = try compare(
            [Self.row("dense", times: steady), Self.row("tiled", times: steady)],
            [Self.row("tiled", times: steady), Self.row("sliding", times: steady)])
        XCTAssertEqual(report.count(.missing), 1)
        XCTAssertEqual(report.count(.new), 1)
        XCTAssertEqual(report.cases.first { $0.verdict == .missing }?.key.strategy, "dense")
        XCTAssertEqual(report.cases.first { $0.verdict == .new }?.key.strategy, "sliding")
        XCTAssertEqual(report.regressions, 0)
    }

    func testACaseThatNowFailsIsARegression() throws {
        var failed = Self.row("tiled", times: [1])
        failed["status"] = "failed"
        failed["times_ms"] = ""
        failed["median_ms"] = ""
        failed["reason"] = "killed by signal 9"
        let report = try compare([Self.row("tiled", times: steady)], [failed])
        XCTAssertEqual(report.regressions, 1)
        XCTAssert(report.cases[0].note.contains("now failed: killed by signal 9"))
    }

    func testNormalizedMetricForgivesASlowerMachine() throws {
        // Twice the time on a machine whose sgemm is half as fast: the same work.
        let base = [Self.row("tiled", times: steady, sgemm: 200)]
        let cur = [Self.row("tiled", times: steady.map { $0 * 2 }, sgemm: 100)]
        XCTAssertEqual(try compare(base, cur).regressions, 0)
        XCTAssertEqual(try compare(base, cur) { $0.metric = .median }.regressions, 1)
    }

    func testDifferentOpenBLASKernelsAreCalledOut() throws {
        var a = Self.row("tiled", times: steady), b = Self.row("tiled", times: steady)
        a["blas_core"] = "Haswell"
        b["blas_core"] = "Cooperlake"
        let report = try compare([a], [b])
        XCTAssert(
            report.metricNote.contains("OpenBLAS kernels differ (baseline Haswell, current Cooperlake)"),
            report.metricNote)
        XCTAssert(report.text().contains("warning: OpenBLAS kernels differ"))
        XCTAssertEqual(try compare([a], [a]).metricNote, "")
    }

    func testFewSamplesMustNotOverlap() throws {
        let report = try compare(
            [Self.row("tiled", times: [10, 11, 10.5])], [Self.row("tiled", times: [20, 21, 20.5])])
        XCTAssertNil(report.cases[0].pValue)
        XCTAssertEqual(report.regressions, 1)
        let overlap = try compare(
            [Self.row("tiled", times: [10, 30, 10.5])], [Self.row("tiled", times: [20, 21, 20.5])])
        XCTAssertEqual(overlap.regressions, 0)
    }

    func testInputProblems() throws {
        XCTAssertThrowsError(
            try compare([Self.row("dense", n: 512, times: steady)], [Self.row("dense", n: 1024, times: steady)])
        ) {
            XCTAssert("\($0)".contains("no case in common"), "\($0)")
        }
        var future = Self.row("dense", times: steady)
        future["schema_version"] = "99"
        XCTAssertThrowsError(try write("future.csv", [future])) {
            XCTAssert("\($0)".contains("schema_version 99"), "\($0)")
        }
    }

    /// Rows pooled from several processes are tested on the processes'
    /// medians: two slow processes among six are not a significant
    /// difference, however many repetitions they gave.
    func testRoundsAreTestedOnTheirMedians() throws {
        let levels: [Double] = [10, 10.4, 9.8, 10.2, 9.9, 10.1]  // each process's own speed
        var steadyTimes: [Double] = [], burstTimes: [Double] = []
        for (round, level) in levels.enumerated() {
            for rep in 0 ..< 10 {
                let jitter = 0.001 * Double(rep)
                steadyTimes.append(level + jitter)
                burstTimes.append((round >= 4 ? 14 : level) + jitter)
            }
        }
        var base = Self.row("tiled", times: steadyTimes)
        var cur = Self.row("tiled", times: burstTimes)
        let pooled = try compare([base], [cur]) { $0.threshold = 0.01 }
        XCTAssertLessThan(pooled.cases[0].pValue!, 0.01, "sixty repetitions look significant")
        XCTAssertEqual(pooled.regressions, 1)
        let sizes = Array(repeating: "10", count: 6).joined(separator: ";")
        base["round_sizes"] = sizes
        cur["round_sizes"] = sizes
        let rounds = try compare([base], [cur]) { $0.threshold = 0.01 }
        XCTAssertGreaterThan(rounds.cases[0].pValue!, 0.2, "two slow processes of six are not")
        XCTAssertEqual(rounds.regressions, 0)
        cur["round_sizes"] = "10;10;10"
        XCTAssertThrowsError(try write("bad-rounds.csv", [cur])) { XCTAssert("\($0)".contains("round_sizes"), "\($0)") }
    }

    func testAWrongCaseThatNowFailsIsARegression() throws {
        var wrong = Self.row("tiled", times: steady, status: "wrong")
        wrong["reason"] = "max abs error 1"
        var failed = Self.row("tiled", times: steady)
        failed["status"] = "failed"
        failed["times_ms"] = ""
        failed["median_ms"] = ""
        XCTAssertEqual(try compare([wrong], [failed]).regressions, 1)
    }

    /// A report written before the calibration and interference columns
    /// (schema version 1) is still read, and compared with a current one.
    func testVersionOneReportsAreStillRead() throws {
        let v1Header = ReportSchema.header(version: 1)
        XCTAssertLessThan(v1Header.count, ReportSchema.header.count)
        var old = Self.row("tiled", times: steady)
        old["schema_version"] = "1"
        let path = directory.path("v1.csv")
        try (CSVTable.line(v1Header) + CSVTable.line(v1Header.map { old[$0]! })).write(
            toFile: path, atomically: true, encoding: .utf8)
        let report = try ReportFile(path: path)
        XCTAssertNil(report.rows[0]["disturbed"])
        let comparison = try ReportComparison.compare(
            baseline: report, current: write("v2.csv", [Self.row("tiled", times: steady)]),
            options: ComparisonOptions())
        XCTAssertEqual(comparison.count(.unchanged), 1)
        XCTAssert(comparison.metricNote.contains("one report is schema version 1"), comparison.metricNote)
        // A version-1 file must still have every version-1 column.
        let short = v1Header.filter { $0 != "times_ms" }
        try (CSVTable.line(short) + CSVTable.line(short.map { old[$0]! })).write(
            toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportFile(path: path)) {
            XCTAssert("\($0)".contains("missing columns times_ms of schema version 1"), "\($0)")
        }
    }

    /// A report is read a record at a time and the first bad row ends the
    /// reading: what follows it (here a quote that never closes, and a
    /// record longer than any row) is never read, so memory does not grow
    /// with a junk file's size.
    func testReadingStopsAtTheFirstBadRow() throws {
        let path = directory.path("junk.csv")
        let junk =
            CSVTable.line(ReportSchema.header) + "junk,junk\n"
            + String(repeating: "x", count: CSVFileReader.defaultMaxRecordBytes + 10) + "\n\"never closed\n"
        try junk.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportFile(path: path)) { error in
            XCTAssert("\(error)".contains("row 2 has 2 fields, the header has"), "\(error)")
        }
        // Where the first bad record is one longer than the limit, that is the error.
        let long = directory.path("long.csv")
        try
            (CSVTable.line(ReportSchema.header) + String(repeating: "y", count: CSVFileReader.defaultMaxRecordBytes + 1))
            .write(toFile: long, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportFile(path: long)) { error in
            XCTAssert("\(error)".contains("the record at line 2 is longer than 16 MiB"), "\(error)")
        }
    }

    func testMalformedTimesAreAnInputProblem() throws {
        for bad in ["abc", ";", "1;nan", "inf", "-3"] {
            var row = Self.row("tiled", times: steady)
            row["times_ms"] = bad
            XCTAssertThrowsError(try write("bad-\(UUID()).csv", [row]), bad) {
                XCTAssert("\($0)".contains("times_ms"), "\($0)")
            }
        }
        XCTAssertNil(Bytes.parse("1e30"))
    }

    func testMarkdownFitsAPullRequestComment() throws {
        let report = try compare(
            [Self.row("tiled", times: steady), Self.row("dense", times: steady)],
            [Self.row("tiled", times: steady.map { $0 * 2 }), Self.row("dense", times: steady)])
        let md = report.markdown()
        XCTAssert(md.hasPrefix("### attnbench compare: ❌ **1 regression(s)**"), md)
        XCTAssert(
            md.contains("| case | baseline ms | current ms | ratio (normalized) | p | peak extra | verdict | note |"),
            md)
        XCTAssert(md.contains("| **regression** |"), md)
        XCTAssertEqual(md.split(separator: "\n").filter { $0.hasPrefix("| tiled") || $0.hasPrefix("| dense") }.count, 2)
        XCTAssert(report.text().contains("1 regression(s), 0 improvement(s), 1 unchanged"))
    }
}
