import AttentionTestSupport
import BenchHarness
import Foundation
import NumpyFormat
import XCTest

/// Input a careless or hostile user gives: each is refused with one error
/// line naming the flag or file, or handled without losing or faking a result.
extension CLITests {
    /// Values that used to crash, hang or be read as something else.
    func testOutOfRangeValuesAreOneLineErrors() throws {
        let cases: [([String], String)] = [
            (["sweep", "--dry-run", "--timeout", "inf"], "--timeout must be a positive number of seconds up to"),
            (["sweep", "--dry-run", "--timeout", "1e19"], "--timeout must be a positive number of seconds up to"),
            (["sweep", "--dry-run", "--min-time", "inf"], "--min-time must be 0 to"),
            (["run", "--seq-len", "-5"], "--seq-len must be at least 1, got -5"),
            (["run", "--seq-len", "8", "--heads", "-2"], "--heads must be at least 1, got -2"),
            (["sweep", "--dry-run", "--kv-len", "-1"], "--kv-len must be at least 1, got -1"),
            (["sweep", "--dry-run", "--kv-lens", "0:8"], "--kv-lens '0:8' must be a comma list of lengths"),
            (["sweep", "--dry-run", "--kv-len", "8", "--kv-lens", "16"], "give --kv-len or --kv-lens, not both"),
            (["sweep", "--dry-run", "--preset", "encode"], "--preset"),
        ]
        try assertEachFailsWithOneErrorLine(cases)
    }

    /// A flag that would be accepted and ignored is an error naming it.
    func testFlagsThatDoNotApplyAreErrors() throws {
        let q = try fixture("q"), k = try fixture("k"), v = try fixture("v")
        let cases: [([String], String)] = [
            (["run", "--seq-len", "8", "--reps", "3", "--min-time", "0.001"], "--reps sets a fixed count"),
            (["run", "--seq-len", "8", "--strategy", "dense", "--tile", "8x8"], "--tile does not apply to dense"),
            (["sweep", "--dry-run", "--strategies", "dense", "--tile", "8x8"], "--tile does not apply to dense"),
            (["run", "--inputs", "\(q),\(k),\(v)", "--heads", "2"], "drop --heads"),
            (["run", "--inputs", "\(q),\(k),\(v)", "--batch", "1", "--head-dim", "16"], "drop --batch, --head-dim"),
        ]
        try assertEachFailsWithOneErrorLine(cases)
    }

    /// `run --max-reps 2` runs 2, not the default minimum of 5.
    func testRunMaxRepsIsAnUpperBound() throws {
        let r = try attnbench(
            "run", "--strategy", "tiled", "--seq-len", "16", "--heads", "1", "--head-dim", "8",
            "--max-reps", "2")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("over 2 reps"), r.stdout)
    }

    /// Repeated grid values measure and write each case once.
    func testRepeatedGridValuesAreOneCase() throws {
        let dir = try TemporaryDirectory(prefix: "dedupe-cli")
        defer { dir.remove() }
        let out = dir.path("s.csv")
        let r = try attnbench([
            "sweep", "--strategies", "tiled,tiled", "--patterns", "full,full", "--seq-lens", "16,16",
            "--heads", "1", "--head-dims", "8,8", "--min-reps", "1", "--max-reps", "1", "--min-time", "0",
            "--in-process", "--out", out,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ReportFile(path: out).rows.count, 1)
    }

    /// A sweep with a case that timed out exits 1, after writing every row.
    func testSweepWithAFailedCaseExitsOneAndKeepsItsRows() throws {
        let dir = try TemporaryDirectory(prefix: "sweep-exit")
        defer { dir.remove() }
        let out = dir.path("s.csv")
        // No child process can even start within 1 ms, and the work (a few MFLOP)
        // is too small for the planner to skip the cases instead: both time out.
        let r = try attnbench([
            "sweep", "--strategies", "dense", "--patterns", "full", "--seq-lens", "8,16",
            "--heads", "64", "--head-dims", "64", "--min-reps", "1", "--max-reps", "1", "--min-time", "0",
            "--timeout", "0.001", "--out", out,
        ])
        let rows = try ReportFile(path: out).rows
        XCTAssertEqual(rows.count, 2, r.stderr)
        let statuses = Set(rows.map { $0["status"]! })
        if statuses.isSubset(of: ["ok", "skipped", "unsupported"]) {
            XCTAssertEqual(r.status, 0, r.stderr)
        } else {
            XCTAssertEqual(r.status, 1, "\(statuses): \(r.stderr)")
            XCTAssertEqual(r.errors.count, 1, r.stderr)
            XCTAssert(r.errors[0].contains("of 2 cases"), r.stderr)
        }
        XCTAssert(statuses.contains("timeout") || statuses.contains("failed"), "\(rows.map { $0["reason"]! })")
    }

    /// NaN or infinite inputs are refused, naming the file and the element.
    func testNonFiniteInputsAreRefused() throws {
        let dir = try TemporaryDirectory(prefix: "nan-inputs")
        defer { dir.remove() }
        let k = try fixture("k"), v = try fixture("v")
        var q = try NumpyFile.read(path: try fixture("q"))
        var values = q.values
        values[3 * 16 + 5] = .nan  // [0, 0, 3, 5] of [1, 4, 37, 16]
        q = NumpyArray(shape: q.shape, values: values)
        let nanPath = dir.path("q-nan.npy")
        try NumpyFile.write(q, to: nanPath)
        values[3 * 16 + 5] = .infinity
        let infPath = dir.path("q-inf.npy")
        try NumpyFile.write(NumpyArray(shape: q.shape, values: values), to: infPath)
        let cases: [([String], String)] = [
            (
                ["run", "--inputs", "\(nanPath),\(k),\(v)", "--verify", "--format", "json"],
                "q-nan.npy: element [0, 0, 3, 5] is NaN"
            ),
            (["run", "--inputs", "\(infPath),\(k),\(v)"], "q-inf.npy: element [0, 0, 3, 5] is infinite"),
        ]
        try assertEachFailsWithOneErrorLine(cases)
    }

    /// compare refuses a report with a bad cell (exit 2, naming the file,
    /// row and column) instead of returning a verdict.
    func testCompareRefusesCorruptedCells() throws {
        let dir = try TemporaryDirectory(prefix: "compare-strict")
        defer { dir.remove() }
        let base = dir.path("base.csv")
        let r = try attnbench([
            "sweep", "--strategies", "tiled", "--patterns", "full", "--seq-lens", "16,32", "--heads", "1",
            "--head-dims", "8", "--min-reps", "6", "--max-reps", "6", "--min-time", "0", "--in-process",
            "--out", base,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let records = try CSVTable.parse(try String(contentsOfFile: base, encoding: .utf8)).filter { $0 != [""] }
        let header = records[0]
        func corrupted(_ column: String, _ value: String, name: String) throws -> String {
            var copy = records
            copy[1][header.firstIndex(of: column)!] = value
            let path = dir.path(name)
            try copy.map(CSVTable.line).joined().write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let cases: [(String, String, String)] = [
            ("status", "great", "is not a status"),
            ("seq_len", "sixteen", "is not an integer"),
            ("sgemm_gflops", "0", "must be greater than 0"),
            ("median_ms", "fast", "is not a finite number"),
            ("times_ms", "1;x", "must be non-negative numbers joined by ';'"),
            ("disturbed", "maybe", "must be 0 or 1"),
        ]
        for (n, (column, value, problem)) in cases.enumerated() {
            let path = try corrupted(column, value, name: "bad\(n).csv")
            let c = try attnbench(["compare", base, path])
            XCTAssertEqual(c.status, 2, "\(column)=\(value): \(c.stdout)")
            XCTAssertEqual(c.errors.count, 1, c.stderr)
            XCTAssert(
                c.errors.first?.contains("bad\(n).csv: not a sweep CSV (row 2, column \(column): '\(value)' \(problem)")
                    == true,
                c.stderr)
        }

        // A case written twice: an error when the rows disagree, read once when they agree.
        var twice = records + [records[1]]
        let same = dir.path("same.csv")
        try twice.map(CSVTable.line).joined().write(toFile: same, atomically: true, encoding: .utf8)
        XCTAssertEqual(try attnbench(["compare", base, same]).status, 0)
        twice[3][header.firstIndex(of: "median_ms")!] = "999"
        let differ = dir.path("differ.csv")
        try twice.map(CSVTable.line).joined().write(toFile: differ, atomically: true, encoding: .utf8)
        let c = try attnbench(["compare", base, differ])
        XCTAssertEqual(c.status, 2, c.stdout)
        XCTAssert(c.errors.first?.contains("rows 2 and 4 are the same case") == true, c.stderr)
    }

    /// --save-output replaces only a regular, writable file, and says so
    /// before the case runs; what was at the path is left alone.
    func testSaveOutputRefusesWhatIsNotARegularFile() throws {
        let dir = try TemporaryDirectory(prefix: "save-output")
        defer { dir.remove() }
        let target = dir.path("precious.txt")
        try "keep me".write(toFile: target, atomically: true, encoding: .utf8)
        let link = dir.path("link.npy")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let fifo = dir.path("fifo.npy")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let readOnly = dir.path("read-only.npy")
        try "old".write(toFile: readOnly, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(readOnly, 0o444), 0)
        let cases: [([String], String)] = [
            (["--save-output", link], "link.npy: is a symbolic link"),
            (["--save-output", fifo], "fifo.npy: is a FIFO"),
            (["--save-output", readOnly], "read-only.npy: is read-only"),
            (["--save-output", dir.path("")], "is a directory"),
            (["--save-output", "/dev/null"], "/dev/null: is a device"),
        ]
        try assertEachFailsWithOneErrorLine(cases, prefix: ["run", "--seq-len", "8", "--reps", "1"])
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "keep me")
        XCTAssertEqual(try String(contentsOfFile: readOnly, encoding: .utf8), "old")
        let fresh = dir.path("out.npy")
        XCTAssertEqual(try attnbench(["run", "--seq-len", "8", "--reps", "1", "--save-output", fresh]).status, 0)
        XCTAssertEqual(try NumpyFile.read(path: fresh).shape, [1, 8, 8, 64])
    }

    /// A second sweep on a report another sweep is writing is refused at
    /// once, and the first one's rows all arrive.
    func testASecondWriterOfAReportIsRefused() throws {
        let dir = try TemporaryDirectory(prefix: "two-writers")
        defer { dir.remove() }
        let out = dir.path("s.csv")
        let first = Process()
        first.executableURL = Self.binary
        first.arguments = [
            "sweep", "--strategies", "tiled", "--patterns", "full", "--seq-lens", "256,512", "--heads", "2",
            "--head-dims", "32", "--min-reps", "3", "--max-reps", "3", "--min-time", "0.5", "--in-process",
            "--out", out,
        ]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        let lock = dir.path(".s.csv.lock")
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: lock) && Date() < deadline { usleep(20_000) }
        let second = try attnbench([
            "sweep", "--strategies", "tiled", "--patterns", "full", "--seq-lens", "64", "--heads", "1",
            "--head-dims", "8", "--min-reps", "1", "--max-reps", "1", "--min-time", "0", "--in-process",
            "--resume", "--out", out,
        ])
        first.waitUntilExit()
        XCTAssertNotEqual(second.status, 0)
        XCTAssertEqual(second.errors.count, 1, second.stderr)
        XCTAssert(second.errors.first?.contains("is being written by another attnbench command") == true, second.stderr)
        XCTAssertEqual(first.terminationStatus, 0)
        XCTAssertEqual(try ReportFile(path: out).rows.count, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock), "the lock file is removed at the end")
    }

    /// --resume repairs a missing final line end and keeps the environment
    /// of the earlier run; a .json path that is a directory is refused
    /// before a CSV is written.
    func testResumeRepairsTheLineEndAndKeepsEarlierEnvironments() throws {
        let dir = try TemporaryDirectory(prefix: "resume")
        defer { dir.remove() }
        let out = dir.path("s.csv")
        let grid = [
            "sweep", "--strategies", "tiled", "--patterns", "full", "--heads", "1", "--head-dims", "8",
            "--min-reps", "1", "--max-reps", "1", "--min-time", "0", "--in-process", "--out", out,
        ]
        XCTAssertEqual(try attnbench(grid + ["--seq-lens", "16"]).status, 0)
        var text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssert(text.hasSuffix("\n"))
        text.removeLast()
        try text.write(toFile: out, atomically: true, encoding: .utf8)
        let resumed = try attnbench(grid + ["--seq-lens", "16,32", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssert(resumed.stderr.contains("lacked a final line end"), resumed.stderr)
        XCTAssertEqual(try ReportFile(path: out).rows.map { $0["seq_len"]! }, ["16", "32"])
        let json = try JSONDecoder().decode(
            JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: dir.path("s.json"))))
        guard case .object(let top) = json, case .array(let earlier)? = top["earlier_runs"] else {
            return XCTFail("no earlier_runs in \(json)")
        }
        XCTAssertEqual(earlier.count, 1)

        let blocked = dir.path("b.csv")
        try FileManager.default.createDirectory(atPath: dir.path("b.json"), withIntermediateDirectories: true)
        let r = try attnbench(Array(grid.dropLast()) + [blocked, "--seq-lens", "16"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.errors.count, 1, r.stderr)
        XCTAssert(r.errors.first?.contains("b.json: is a directory") == true, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: blocked), "no header-only CSV is left behind")
    }

    /// A problem whose inputs and layout cannot fit is refused before the
    /// layout is built (this used to trap in an allocation, or build for
    /// minutes); a huge layout-file row fails as it is read.
    func testOversizedLayoutsAreRefusedBeforeBuilding() throws {
        let dir = try TemporaryDirectory(prefix: "layouts")
        defer { dir.remove() }
        let wide = dir.path("wide.txt")
        try ("block 4\n" + String(repeating: "1", count: 2_000_000) + "\n").write(
            toFile: wide, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (
                ["--strategy", "block-sparse", "--pattern", "fixed:1:1", "--seq-len", "65536", "--batch", "100000"],
                "more than the machine's"
            ),
            (
                ["--strategy", "block-sparse", "--pattern", "bigbird:64", "--seq-len", "16777216"],
                "more than the machine's"
            ),
            (
                ["--strategy", "block-sparse", "--pattern", "layout:\(wide)", "--seq-len", "16"],
                "line 2: row has 2000000 columns"
            ),
        ]
        try assertEachFailsWithOneErrorLine(cases, prefix: ["run", "--reps", "1"])
        let dry = try attnbench([
            "sweep", "--dry-run", "--strategies", "block-sparse", "--patterns", "fixed:1:1",
            "--seq-lens", "1048576", "--memory-limit", "8G",
        ])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssert(dry.stdout.contains("skip"), dry.stdout)
    }
}

/// Untrusted files from every source, one writer per report, and exit codes.
extension CLITests {
    /// A tuning file whose only entry has `tile`.
    static func tuningFile(tile: String) -> String {
        """
        {"schema_version": 1, "cpu_model": "test", "kernels_available": ["portable"], "threads": 2,
         "created_at": "2026-12-02T00:00:00Z",
         "entries": [{"strategy": "tiled", "headDim": 64, "pattern": "full", "patternKind": "full", "seqLen": 4096,
                      "kernel": "portable", "tile": \(tile), "bestMs": 1, "candidates": []}]}
        """
    }

    /// A bad tuning file is one error line naming its source and entry,
    /// before anything runs, whether it comes from `--tuning`,
    /// `ATTNBENCH_TUNING` or the default location; never a crash.
    func testABadTuningFileFromAnySourceIsOneErrorLine() throws {
        let dir = try TemporaryDirectory(prefix: "cli-tuning")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path("cache/attnbench"), withIntermediateDirectories: true)
        let bad = dir.path("cache/attnbench/tuning.json")
        for tile in [#"{"rows": 0, "columns": 0}"#, #"{"rows": -4, "columns": 64}"#] {
            try Self.tuningFile(tile: tile).write(toFile: bad, atomically: true, encoding: .utf8)
            let sources: [([String], [String: String], String)] = [
                (["--tuning", bad], [:], "(from --tuning)"),
                ([], ["ATTNBENCH_TUNING": bad], "(from ATTNBENCH_TUNING)"),
                ([], ["XDG_CACHE_HOME": dir.path("cache"), "ATTNBENCH_TUNING": ""], "(from the default location)"),
            ]
            for (flags, env, source) in sources {
                for command in [
                    ["run", "--seq-len", "8"], ["sweep", "--dry-run", "--seq-lens", "8"],
                    ["sweep", "--seq-lens", "8", "--out", dir.path("t.csv")],
                    ["ab", "--baseline-binary", Self.binary.path, "--seq-lens", "8", "--out-dir", dir.path("ab")],
                ] {
                    let r = try attnbench(command + flags, environment: env)
                    XCTAssertEqual(r.status, 64, "\(command) \(source): \(r.stderr)")
                    XCTAssertEqual(r.errors.count, 1, r.stderr)
                    let line = String(r.errors.first ?? "")
                    XCTAssert(line.contains("tuning file '\(bad)' \(source)"), line)
                    XCTAssert(line.contains("tile sizes must be at least 1x1"), line)
                    XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("t.csv")), "nothing ran")
                }
            }
        }
        // An entry that decodes but makes no sense is named too.
        try Self.tuningFile(tile: #"{"rows": 8, "columns": 8}"#).replacingOccurrences(of: "\"tiled\"", with: "\"warp\"")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try attnbench(["run", "--seq-len", "8", "--tuning", bad])
        XCTAssert(r.errors.first?.contains("entry 1 (warp full d=64): unknown strategy 'warp'") == true, r.stderr)
    }

    /// `tune` finds out that it cannot write its file before measuring.
    func testTuneRefusesAnUnwritablePathBeforeMeasuring() throws {
        let started = Date()
        let r = try attnbench(["tune", "--tuning", "/proc/attnbench-tuning.json", "--seq-len", "4096"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssert(r.errors.first?.contains("--tuning /proc/attnbench-tuning.json: cannot be written") == true, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "refused before measuring")
    }

    /// merge takes the report's lock, and knows a file by its identity:
    /// an input reached through a link is still the output.
    func testMergeIsOneWriterAndKnowsFilesByIdentity() throws {
        let dir = try TemporaryDirectory(prefix: "cli-merge-identity")
        defer { dir.remove() }
        let out = dir.path("s.csv")
        let sweep = try attnbench(
            [
                "sweep", "--strategies", "tiled", "--patterns", "full", "--seq-lens", "8", "--heads", "1",
                "--head-dims", "8", "--min-reps", "1", "--max-reps", "1", "--out", out,
            ], environment: ["ATTNBENCH_QUICK_CALIBRATION": "1"])
        XCTAssertEqual(sweep.status, 0, sweep.stderr)
        let before = try String(contentsOfFile: out, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.csv"), withDestinationPath: out)
        try FileManager.default.createSymbolicLink(
            atPath: dir.path("link.json"), withDestinationPath: SweepRunner.environmentPath(forReport: out))
        let linked = try attnbench(["merge", out, dir.path("link.csv")])
        XCTAssertNotEqual(linked.status, 0)
        XCTAssert(linked.errors.first?.contains("is also an input") == true, linked.stderr)

        // A sweep holding the report: merge onto it is refused, and its rows stay.
        let lock = try ReportLock(report: dir.path("busy.csv"))
        defer { lock.release() }
        try before.write(toFile: dir.path("busy.csv"), atomically: true, encoding: .utf8)
        let busy = try attnbench(["merge", dir.path("busy.csv"), out])
        XCTAssertEqual(busy.status, 2, busy.stderr)
        XCTAssert(busy.errors.first?.contains("is being written by another attnbench command") == true, busy.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir.path("busy.csv"), encoding: .utf8), before)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), before)
    }

    /// Usage errors exit 64; a case that fails or cannot be measured, 1.
    func testExitCodes() throws {
        let usage = try attnbench(["run", "--seq-len", "0"])
        XCTAssertEqual(usage.status, 64)
        let peer = try attnbench(
            ["run", "--strategy", "torch-sdpa", "--seq-len", "8"], environment: Self.noPython)
        XCTAssertEqual(peer.status, 1, peer.stderr)
        XCTAssertEqual(peer.errors.count, 1, peer.stderr)
    }
}
