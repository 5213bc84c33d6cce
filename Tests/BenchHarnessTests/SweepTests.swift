import Attention
import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

final class SweepTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "sweep-tests") }

    override func tearDown() { directory.remove() }

    func plan(
        strategies: [String] = ["dense", "tiled", "sliding"], patterns: [String] = ["full", "window:4"],
        lengths: [Int] = [16, 40], memoryLimit: Int = 1 << 34, timeout: Double = 60
    ) -> SweepPlan {
        SweepPlan(
            grid: SweepGrid(
                strategies: strategies, patterns: patterns, seqLens: lengths, headDims: [16], batch: 1, heads: 2,
                kvHeads: 1, threads: 2, tile: nil, seed: 3,
                repetitions: RepetitionPolicy(warmup: 0, minReps: 3, maxReps: 3, minTime: 0)),
            memoryLimitBytes: memoryLimit, timeoutSeconds: timeout)
    }

    func path(_ name: String) -> String { directory.path(name) }

    func testReportRoundTripsThroughItsSchema() throws {
        let out = path("a.csv")
        let records = try SweepRunner(
            plan: plan(), outputPath: out, resume: false, inProcess: true, calibrationSize: 64, bandwidthBytes: 1 << 20
        ).run()
        XCTAssertEqual(records.count, 2 * 2 * 3)
        let report = try ReportFile(path: out)
        XCTAssertEqual(report.header, ReportSchema.header)
        XCTAssertEqual(report.rows.count, records.count)
        for (row, record) in zip(report.rows, records) {
            XCTAssertEqual(row.count, ReportSchema.columns.count)
            XCTAssertEqual(CaseKey(row: row), record.key)
            XCTAssertEqual(row["status"], record.status.rawValue)
            XCTAssertEqual(row["schema_version"], "\(ReportSchema.version)")
            if record.status == .ok {
                let times = row["times_ms"]!.split(separator: ";").compactMap { Double($0) }
                XCTAssertEqual(times.count, 3)
                XCTAssertEqual(Double(row["median_ms"]!)!, try SampleStatistics(times).median, accuracy: 1e-3)
                XCTAssertLessThan(Double(row["rel_frobenius_error"]!)!, 1e-5)
                XCTAssertNotNil(Int(row["peak_extra_bytes"]!))
                // The roofline columns agree with each other and with the row's own figures.
                let bytes = Double(row["min_bytes"]!)!, median = Double(row["median_ms"]!)! * 1e-3
                let gflops = Double(row["useful_gflops"]!)!, bandwidth = Double(row["read_bandwidth_gbps_local"]!)!
                let intensity = Double(row["arithmetic_intensity"]!)!
                XCTAssertGreaterThan(bandwidth, 0)
                XCTAssertEqual(intensity, gflops * median * 1e9 / bytes, accuracy: intensity * 1e-3)
                XCTAssertEqual(Double(row["achieved_gbps"]!)!, bytes / median / 1e9, accuracy: bytes / median / 1e12)
                XCTAssertEqual(
                    Double(row["fraction_of_bandwidth"]!)!, bytes / median / 1e9 / bandwidth,
                    accuracy: bytes / median / 1e12 / bandwidth)
                // The compute roof is the measured peak of the row's kernel's FMA width.
                let peak = Double(row["peak_gflops"]!)!
                XCTAssertEqual(row["peak_instruction"], record.peakInstruction?.rawValue)
                XCTAssertNotNil(PeakInstruction(rawValue: row["peak_instruction"]!))
                XCTAssertEqual(Double(row["fraction_of_peak"]!)!, gflops / peak, accuracy: 1e-3 * gflops / peak)
                XCTAssertEqual(row["bound"], intensity * bandwidth < peak ? "memory" : "compute")
                XCTAssertEqual(
                    Double(row["fraction_of_roof"]!)!, gflops / min(peak, intensity * bandwidth),
                    accuracy: 1e-3 * gflops / min(peak, intensity * bandwidth))
            } else {
                XCTAssertEqual(row["min_bytes"], "")
                XCTAssertEqual(row["bound"], "")
            }
        }
        XCTAssertEqual(report.rows.filter { $0["status"] == "unsupported" }.count, 2, "sliding on full at two lengths")
        let env =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("a.json"))))
            as? [String: Any]
        for key in [
            "cpu_model", "cores", "memory_bytes", "os", "swift_version", "blas_core", "threads", "command_line",
            "started_at", "finished_at", "sgemm_gflops_start", "sgemm_gflops_end", "read_bandwidth_gbps_start",
            "read_bandwidth_gbps_end", "read_bandwidth_gbps_reference",
        ] {
            XCTAssertNotNil(env?[key], key)
        }
    }

    func testResumeSkipsFinishedCasesAndARerunWithoutItRefuses() throws {
        let out = path("r.csv")
        let small = plan(lengths: [16])
        XCTAssertEqual(
            try SweepRunner(
                plan: small, outputPath: out, resume: false, inProcess: true, calibrationSize: 64,
                bandwidthBytes: 1 << 20
            ).run()
                .count, 6)
        XCTAssertThrowsError(
            try SweepRunner(
                plan: small, outputPath: out, resume: false, inProcess: true, calibrationSize: 64,
                bandwidthBytes: 1 << 20
            ).run()
        ) {
            XCTAssert("\($0)".contains("--resume"), "\($0)")
        }
        let more = try SweepRunner(
            plan: plan(lengths: [16, 24]), outputPath: out, resume: true, inProcess: true, calibrationSize: 64,
            bandwidthBytes: 1 << 20
        ).run()
        XCTAssertEqual(more.count, 6, "only the new length runs")
        XCTAssert(more.allSatisfy { $0.key.seqLen == 24 })
        XCTAssertEqual(try ReportFile(path: out).rows.count, 12)
    }

    func testCasesOverTheMemoryBudgetAreSkippedWithTheirPrediction() throws {
        let out = path("m.csv")
        let records = try SweepRunner(
            plan: plan(strategies: ["dense"], patterns: ["full"], memoryLimit: 1 << 20),
            outputPath: out, resume: false, inProcess: true, calibrationSize: 64, bandwidthBytes: 1 << 20
        ).run()
        XCTAssert(records.allSatisfy { $0.status == .skipped }, "\(records.map(\.status))")
        let row = try ReportFile(path: out).rows[0]
        XCTAssert(row["reason"]!.contains("exceeds --memory-limit 1.0 MiB"), row["reason"]!)
        XCTAssertEqual(row["predicted_extra_bytes"], "\((16 * 16 + 16) * 4)")
        XCTAssertEqual(row["median_ms"], "")
    }

    /// A child that crashes, one that fails, one that hangs: each becomes a
    /// row and the sweep goes on.
    func testFailingChildrenBecomeRowsAndTheSweepContinues() throws {
        let crash = path("crash.sh"), fail = path("fail.sh"), hang = path("hang.sh")
        try "#!/bin/sh\nkill -9 $$\n".write(toFile: crash, atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho 'attnbench: error: something broke' >&2\nexit 3\n".write(
            toFile: fail, atomically: true, encoding: .utf8)
        try "#!/bin/sh\nexec sleep 30\n".write(toFile: hang, atomically: true, encoding: .utf8)
        for f in [crash, fail, hang] { chmod(f, 0o755) }
        let cases: [(String, CaseStatus, String, Double)] = [
            (crash, .failed, "killed by signal 9", 60),
            (fail, .failed, "exit status 3: something broke", 60),
            (hang, .timeout, "killed after --timeout", 0.5),
        ]
        for (executable, status, reason, timeout) in cases {
            let out = path("f-\(status)-\(UUID()).csv")
            let records = try SweepRunner(
                plan: plan(strategies: ["tiled"], patterns: ["full"], timeout: timeout),
                outputPath: out, resume: false, inProcess: false, executable: executable,
                calibrationSize: 64, bandwidthBytes: 1 << 20
            ).run()
            XCTAssertEqual(records.count, 2, "both lengths get a row")
            for r in records {
                XCTAssertEqual(r.status, status)
                XCTAssert(r.reason.contains(reason), r.reason)
            }
            XCTAssertEqual(try ReportFile(path: out).rows.count, 2)
        }
    }

    func testChildProcessesMeasureRealCases() throws {
        // The real binary is not reachable from this target; the child path is
        // exercised end to end by the CLI tests. Here: the arguments it gets.
        let config = try plan().cases()[0]
        let args = CaseExecutor.childArguments(config)
        XCTAssertEqual(Array(args.prefix(3)), ["run", "--strategy", "dense"])
        XCTAssert(args.contains("--verify") && args.contains("json"))
    }

    /// A decode grid: every query length meets every key length, shortest first.
    func testKeyLengthsMakeADecodeGrid() throws {
        var decode = plan(lengths: [1, 16])
        decode.strategies = ["tiled"]
        decode.patterns = ["full"]
        decode.kvLens = [4096, 8192]
        let cases = try decode.cases()
        XCTAssertEqual(
            cases.map { [$0.shape.queryLength, $0.shape.keyLength] },
            [[1, 4096], [1, 8192], [16, 4096], [16, 8192]])
    }

    /// The least traffic counts K and V rows only for keys some query attends.
    func testRooflineChargesOnlyAttendedKeys() throws {
        let shape = try AttentionShape(heads: 32, kvHeads: 8, queryLength: 1, keyLength: 131072, headDim: 128)
        let full = Roofline(shape: shape, mask: try AttentionMask(.full, shape: shape))
        XCTAssertEqual(full.minimumBytes, 4 * (2 * 32 * 128 + 2 * 8 * 131072 * 128))
        XCTAssertEqual(full.intensity, 4.0 * 32 * 128 * 131072 / Double(full.minimumBytes), accuracy: 1e-9)
        let window = Roofline(
            shape: shape, mask: try AttentionMask(try MaskPattern(parsing: "window:4096"), shape: shape))
        XCTAssertEqual(window.minimumBytes, 4 * (2 * 32 * 128 + 2 * 8 * 4097 * 128))
        XCTAssertEqual(full.bound(peakGflops: 200, bandwidthGBps: 30), "memory")
        XCTAssertEqual(full.roof(peakGflops: 200, bandwidthGBps: 30), full.intensity * 30, accuracy: 1e-9)
        let prefill = try AttentionShape(heads: 8, queryLength: 4096, headDim: 64)
        XCTAssertEqual(
            Roofline(shape: prefill, mask: try AttentionMask(.full, shape: prefill)).bound(
                peakGflops: 200, bandwidthGBps: 30), "compute")
    }

    func testLengthsParsing() {
        XCTAssertEqual(SweepPlan.parseLengths("512:4096"), [512, 1024, 2048, 4096])
        XCTAssertEqual(SweepPlan.parseLengths("100:500"), [100, 200, 400])
        XCTAssertEqual(SweepPlan.parseLengths("7,1000, 33"), [7, 1000, 33])
        for bad in ["", "0:8", "8:4", "a,b", "1,-2", "1:2:3"] { XCTAssertNil(SweepPlan.parseLengths(bad), bad) }
    }

    func testCSVQuotingRoundTrip() throws {
        let fields = ["plain", "with,comma", "with \"quote\"", "line\nbreak", ""]
        let text = CSVTable.line(fields) + CSVTable.line(["a", "b", "c", "d", "e"])
        XCTAssertEqual(try CSVTable.parse(text), [fields, ["a", "b", "c", "d", "e"]])
        XCTAssertThrowsError(try CSVTable.parse("a,\"open\n"))
    }

    func testReportReadErrors() throws {
        let bad = path("bad.csv")
        try "x,y\n1,2\n".write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportFile(path: bad)) {
            XCTAssert("\($0)".hasPrefix("\(bad): not a sweep CSV"), "\($0)")
        }
        XCTAssertThrowsError(try ReportFile(path: path("missing.csv"))) {
            XCTAssert("\($0)".contains("cannot be read"), "\($0)")
        }
        let old = path("old.csv")
        try
            (CSVTable.line(ReportSchema.header)
            + CSVTable.line(["0"] + Array(repeating: "", count: ReportSchema.header.count - 1)))
            .write(toFile: old, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportFile(path: old)) { XCTAssert("\($0)".contains("schema_version 0"), "\($0)") }
    }
}

/// docs/report-columns.md documents every CSV column: its table is the schema's own.
final class ReportColumnsDocTests: XCTestCase {
    func testReportColumnsDocHoldsTheSchemaTable() throws {
        let columnsDoc = URL(fileURLWithPath: #filePath)  // Tests/BenchHarnessTests/SweepTests.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs").appendingPathComponent("report-columns.md")
        let text = try String(contentsOf: columnsDoc, encoding: .utf8)
        XCTAssert(
            text.contains(ReportSchema.markdownTable()),
            "docs/report-columns.md's column table differs from `attnbench sweep --print-schema`; paste the new one in")
    }
}
