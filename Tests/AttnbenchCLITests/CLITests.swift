import AttentionTestSupport
import BenchHarness
import Foundation
import NumpyFormat
import XCTest

/// Runs the built `attnbench` binary as a user would.
final class CLITests: XCTestCase {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The `attnbench: error:` lines on stderr.
        var errors: [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("attnbench: error:") } }
    }

    /// The `attnbench` product built beside the test runner (`swift test` builds it
    /// because this target depends on it).
    static var binary: URL {
        let candidates = [
            Bundle.main.executableURL, Bundle(for: CLITests.self).executableURL,
            URL(fileURLWithPath: CommandLine.arguments[0]),
        ].compactMap { $0 }
        for c in candidates {
            var dir = c.deletingLastPathComponent()
            for _ in 0 ..< 3 {
                let url = dir.appendingPathComponent("attnbench")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
                dir = dir.deletingLastPathComponent()
            }
        }
        return URL(fileURLWithPath: ".build/release/attnbench")
    }

    func attnbench(_ arguments: String...) throws -> Outcome { try attnbench(arguments) }

    /// `--preset decode` is the decode grid; a flag given overrides its value.
    func testDecodePresetAndItsOverrides() throws {
        let r = try attnbench("sweep", "--preset", "decode", "--dry-run", "--strategies", "tiled")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("tiled full B=1 H=32/8 N=1/4096 d=128"), r.stdout)
        XCTAssert(r.stdout.contains("tiled window:4096 B=1 H=32/8 N=16/1048576 d=128"), r.stdout)
        XCTAssert(r.stdout.contains("tiled bigbird:64 B=1 H=32/8 N=16/1048576 d=128"), r.stdout)
        // Decoding is swept in the three precisions.
        XCTAssert(r.stdout.contains("tiled full B=1 H=32/8 N=1/4096 d=128 f16"), r.stdout)
        XCTAssert(r.stdout.contains("tiled full B=1 H=32/8 N=1/4096 d=128 bf16"), r.stdout)
        XCTAssert(r.stdout.contains("162 cases"), r.stdout)
        let o = try attnbench(
            "sweep", "--preset", "decode", "--dry-run", "--strategies", "tiled", "--kv-lens", "8192", "--patterns",
            "causal", "--heads", "8", "--kv-heads", "1", "--head-dims", "64", "--dtypes", "f32")
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssert(o.stdout.contains("tiled causal B=1 H=8/1 N=1/8192 d=64"), o.stdout)
        XCTAssert(o.stdout.contains("2 cases"), o.stdout)
        let p = try attnbench("sweep", "--dry-run", "--strategies", "tiled", "--patterns", "full")
        XCTAssert(p.stdout.contains("tiled full B=1 H=8/8 N=512 d=64"), p.stdout)
        XCTAssert(p.stdout.contains("6 cases"), p.stdout)
    }

    func testListShowsEveryStrategy() throws {
        let r = try attnbench("list")
        XCTAssertEqual(r.status, 0)
        for name in ["dense", "tiled", "sliding", "block-sparse"] { XCTAssert(r.stdout.contains(name), r.stdout) }
        XCTAssert(r.stdout.contains("patterns: full, causal, window, blocks"))
    }

    func testRunVerifiesAndPrintsJSON() throws {
        let r = try attnbench(
            "run", "--strategy", "tiled", "--seq-len", "100", "--kv-len", "77", "--heads", "6",
            "--kv-heads", "2", "--head-dim", "80", "--pattern", "causal", "--threads", "2",
            "--reps", "2", "--verify", "--format", "json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let config = try XCTUnwrap(json["config"] as? [String: Any])
        XCTAssertEqual(config["strategy"] as? String, "tiled")
        XCTAssertEqual(config["pattern"] as? String, "causal")
        let shape = try XCTUnwrap(config["shape"] as? [String: Any])
        XCTAssertEqual(shape["kvHeads"] as? Int, 2)
        XCTAssertEqual(shape["keyLength"] as? Int, 77)
        XCTAssertEqual((json["timesMs"] as? [Double])?.count, 2)
        let verification = try XCTUnwrap(json["verification"] as? [String: Any])
        XCTAssertLessThan(try XCTUnwrap(verification["relativeFrobeniusError"] as? Double), 1e-5)
        XCTAssertEqual(verification["coverage"] as? String, "all rows")
        XCTAssertNotNil((json["blas"] as? [String: Any])?["core"] as? String)
    }

    func testRunTextReport() throws {
        let r = try attnbench("run", "--strategy", "dense", "--seq-len", "64", "--reps", "1", "--verify")
        XCTAssertEqual(r.status, 0, r.stderr)
        for field in ["median", "GFLOP/s", "rel Frobenius", "OK", "OpenBLAS"] {
            XCTAssert(r.stdout.contains(field), r.stdout)
        }
    }

    /// Each bad input: a non-zero exit and one error line that names the flag.
    func testBadInputGetsOneLineErrorNamingTheFlag() throws {
        let cases: [([String], String)] = [
            (["run", "--seq-len", "0"], "--seq-len must be at least 1"),
            (["run", "--seq-len", "8", "--head-dim=-3"], "--head-dim must be at least 1"),
            (
                ["run", "--seq-len", "8", "--heads", "6", "--kv-heads", "4"],
                "--heads (6) must be a multiple of --kv-heads (4)"
            ),
            (
                ["run", "--seq-len", "8", "--strategy", "flash"],
                "unknown strategy 'flash' (known: dense, tiled, sliding, block-sparse; peers: torch-sdpa"
            ),
            (["run", "--seq-len", "8", "--pattern", "window:x"], "--pattern"),
            (["run", "--seq-len", "8", "--pattern", "window:1:2:3"], "window takes one extent"),
            (["run", "--seq-len", "8", "--pattern", "diagonal"], "allowed: full, causal"),
            (["run", "--seq-len", "8", "--tile", "0x4"], "--tile"),
            (["run", "--seq-len", "8", "--threads", "0"], "--threads must be at least 1"),
            (["run", "--seq-len", "8", "--reps", "0"], "--reps must be at least 1"),
            (["run"], "--seq-len is required"),
            (
                ["run", "--seq-len", "8", "--strategy", "sliding", "--pattern", "full"],
                "strategy 'sliding' does not support pattern 'full'"
            ),
            (["run", "--seq-len", "8", "--pattern", "layout:/nonexistent/file"], "layout file '/nonexistent/file'"),
            (["run", "--seq-len", "8", "--format", "xml"], "--format"),
        ]
        try assertEachFailsWithOneErrorLine(cases)
    }

    /// Runs the binary with `arguments`; `environment` adds to this process's.
    func attnbench(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    func fixture(_ name: String) throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "npy", subdirectory: "Fixtures")).path
    }

    /// Tensors written by NumPy in, output back out, compared with NumPy's own attention.
    func testNumpyInputsAndSavedOutputMatchNumpy() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("attnbench-out-\(UUID()).npy").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let inputs = [try fixture("q"), try fixture("k"), try fixture("v")].joined(separator: ",")
        for strategy in ["dense", "tiled"] {
            let r = try attnbench([
                "run", "--strategy", strategy, "--inputs", inputs, "--pattern", "causal", "--reps", "1",
                "--verify", "--save-output", out,
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssert(r.stdout.contains("H=4 Hkv=2 Nq=37 Nk=53 d=16"), r.stdout)
            let got = try NumpyFile.read(path: out)
            let expected = try NumpyFile.read(path: try fixture("expected_causal"))
            XCTAssertEqual(got.shape, [1, 4, 37, 16])
            XCTAssertEqual(got.shape, expected.shape)
            let worst = zip(got.values, expected.values).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-5, strategy)
        }
    }

    /// A float16 `.npy` file (`<f2`) is read exactly, beside float32 and
    /// float64 ones: the output is NumPy's attention of the float16 values.
    func testFloat16InputsAreWidenedExactly() throws {
        let inputs = [try fixture("q"), try fixture("k"), try fixture("v16")].joined(separator: ",")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("attnbench-f16-\(UUID()).npy").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try attnbench([
            "run", "--strategy", "tiled", "--inputs", inputs, "--pattern", "causal", "--reps", "1", "--verify",
            "--save-output", out,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let got = try NumpyFile.read(path: out), expected = try NumpyFile.read(path: try fixture("expected_causal_v16"))
        XCTAssertEqual(got.shape, expected.shape)
        let worst = zip(got.values, expected.values).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-5)
        // Against the float32 values' output it differs by float16's rounding of V.
        let float32 = try NumpyFile.read(path: try fixture("expected_causal"))
        XCTAssertGreaterThan(zip(got.values, float32.values).map { abs($0 - $1) }.max() ?? 0, 1e-5)
    }

    func testBadInputFilesNameTheFile() throws {
        let q = try fixture("q"), k = try fixture("k"), v = try fixture("v")
        let cases: [([String], String)] = [
            (["--inputs", "\(q),\(k)"], "--inputs takes three .npy files"),
            (["--inputs", "\(q),\(k),/nonexistent/v.npy"], "/nonexistent/v.npy"),
            (["--inputs", "\(q),\(q),\(v)"], "v.npy: shape [1, 2, 53, 16] differs from"),
            (["--inputs", "\(k),\(q),\(q)"], "heads do not divide"),
            (["--inputs", "\(q),\(k),\(v)", "--seq-len", "4"], "--inputs takes the shape from the files"),
        ]
        try assertEachFailsWithOneErrorLine(cases, prefix: ["run"])
    }

    /// A real sweep through child processes: rows, environment, summary.
    func testSweepRunsEachCaseInAChildAndWritesItsReport() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-cli-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("s.csv").path
        let r = try attnbench([
            "sweep", "--strategies", "dense,tiled,block-sparse", "--patterns", "full,bigbird:8:causal",
            "--seq-lens", "16,40", "--heads", "2", "--kv-heads", "1", "--head-dims", "16",
            "--min-reps", "2", "--max-reps", "2", "--min-time", "0", "--out", out,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try ReportFile(path: out)
        XCTAssertEqual(report.rows.count, 2 * 2 * 3)
        XCTAssertEqual(report.rows.filter { $0["status"] == "ok" }.count, 10, "\(report.rows.map { $0["reason"]! })")
        XCTAssertEqual(report.rows.filter { $0["status"] == "unsupported" }.count, 2)
        for row in report.rows where row["status"] == "ok" {
            XCTAssertGreaterThan(Int(row["peak_rss_bytes"]!)!, 0)
            XCTAssertLessThan(Double(row["rel_frobenius_error"]!)!, 1e-5)
        }
        XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.json").path))
        XCTAssert(r.stdout.contains("bigbird:8:causal") && r.stdout.contains("*"), r.stdout)
        XCTAssertEqual(
            r.stderr.split(separator: "\n").filter { $0.hasPrefix("[") }.count, 12,
            "one progress line per case off a terminal")

        let dry = try attnbench(["sweep", "--seq-lens", "512:65536", "--memory-limit", "8G", "--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssert(dry.stdout.contains("dense full B=1 H=8/8 N=65536"), dry.stdout)
        XCTAssert(
            dry.stdout.split(separator: "\n").contains {
                $0.contains("dense full B=1 H=8/8 N=65536") && $0.contains("skip")
            })
    }

    /// `--passes` is an axis: each pass a row with its `pass` cell, every
    /// strategy's backward verified against the reference in CI, its saved
    /// and gradient bytes reported; `run --pass` says what a strategy cannot do.
    func testPassesAxis() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-pass-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("p.csv").path
        let r = try attnbench([
            "sweep", "--strategies", "dense,tiled,sliding,block-sparse", "--patterns", "causal,window:5:g2,bigbird:8",
            "--seq-lens", "37",
            "--heads", "2", "--kv-heads", "1", "--head-dims", "12", "--passes", "forward,backward,both",
            "--min-reps", "1", "--max-reps", "1", "--min-time", "0", "--out", out,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try ReportFile(path: out).rows
        XCTAssertEqual(rows.count, 4 * 3 * 3)
        XCTAssertEqual(Set(rows.map { $0["pass"]! }), ["forward", "backward", "both"])
        for row in rows where row["status"] == "ok" && row["pass"] != "forward" {
            XCTAssertLessThan(Double(row["rel_frobenius_error"]!)!, 1e-4, "\(row)")
            XCTAssertGreaterThan(Int(row["gradient_bytes"]!)!, 0)
            XCTAssertGreaterThan(Int(row["saved_bytes"]!)!, 0)
        }
        // Per pass: dense and tiled on every pattern, sliding on the window, block-sparse on the blocks.
        XCTAssertEqual(rows.filter { $0["status"] == "ok" }.count, 3 * 8, "\(rows.map { $0["reason"]! })")
        XCTAssert(r.stdout.contains("pass"), r.stdout)

        let half = try attnbench("run", "--strategy", "tiled", "--seq-len", "8", "--pass", "backward", "--dtype", "f16")
        XCTAssertNotEqual(half.status, 0)
        XCTAssertEqual(half.errors.count, 1)
        XCTAssert(half.stderr.contains("takes f32 inputs"), half.stderr)
        let bad = try attnbench("sweep", "--seq-lens", "8", "--passes", "forward,sideways")
        XCTAssertNotEqual(bad.status, 0)
        XCTAssert(bad.stderr.contains("--passes 'sideways' must be one of forward, backward, both"), bad.stderr)
    }

    func testSweepArgumentErrors() throws {
        let cases: [([String], String)] = [
            (["--memory-limit", "lots"], "--memory-limit 'lots' must be a size"),
            (["--seq-lens", "8:4"], "--seq-lens '8:4'"),
            (["--strategies", "dense,flash"], "unknown strategy 'flash'"),
            (["--patterns", "full,wndow:3"], "invalid pattern: 'wndow:3'"),
            (["--head-dims", "64,0"], "--head-dims '64,0'"),
            (["--out", "results/x.txt"], "--out must name a .csv file"),
            (["--heads", "6", "--kv-heads", "4"], "--heads (6) must be a multiple of --kv-heads (4)"),
        ]
        try assertEachFailsWithOneErrorLine(cases, prefix: ["sweep", "--dry-run"])
    }

    /// compare's exit codes: 0 no regression, 1 a regression, 2 an input problem.
    func testCompareExitCodes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("compare-cli-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base.csv").path
        let r = try attnbench([
            "sweep", "--strategies", "tiled", "--patterns", "full", "--seq-lens", "32", "--heads", "1",
            "--head-dims", "16", "--min-reps", "6", "--max-reps", "6", "--min-time", "0", "--out", base,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let same = try attnbench(["compare", base, base])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssert(same.stdout.contains("0 regression(s)"), same.stdout)

        // The same report with every time doubled: a regression.
        let text = try String(contentsOfFile: base, encoding: .utf8)
        var records = try CSVTable.parse(text)
        let header = records[0]
        let timesColumn = header.firstIndex(of: "times_ms")!, medianColumn = header.firstIndex(of: "median_ms")!
        for i in 1 ..< records.count {
            records[i][timesColumn] = records[i][timesColumn].split(separator: ";").map { "\(Double($0)! * 2)" }.joined(
                separator: ";")
            records[i][medianColumn] = "\(Double(records[i][medianColumn])! * 2)"
        }
        let slow = dir.appendingPathComponent("slow.csv").path
        try records.map(CSVTable.line).joined().write(toFile: slow, atomically: true, encoding: .utf8)
        let regressed = try attnbench(["compare", base, slow, "--format", "markdown"])
        XCTAssertEqual(regressed.status, 1, regressed.stderr)
        XCTAssert(regressed.stdout.contains("**regression**"), regressed.stdout)

        let missing = try attnbench(["compare", base, dir.appendingPathComponent("nope.csv").path])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.errors.count, 1, missing.stderr)
        XCTAssert(missing.errors[0].contains("nope.csv: cannot be read"), missing.stderr)
        let garbage = dir.appendingPathComponent("garbage.csv").path
        try "hello,world\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        XCTAssertEqual(try attnbench(["compare", base, garbage]).status, 2)
        XCTAssertEqual(try attnbench(["compare", base, base, "--threshold", "lots"]).status, 64)
    }

    /// `attnbench ab` with two wrappers around this build that log which ran:
    /// the builds alternate per case in rounds, both reports are written,
    /// and a build that cannot run is exit 2, never a pass.
    func testABAlternatesTwoBuildsAndCompares() throws {
        let dir = try TemporaryDirectory(prefix: "ab-cli")
        defer { dir.remove() }
        let log = dir.path("log")
        func wrapper(_ name: String, _ body: String) throws -> String {
            let path = dir.path(name)
            try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
            return path
        }
        let a = try wrapper("a.sh", "echo A >> '\(log)'\nexec '\(Self.binary.path)' \"$@\"")
        let b = try wrapper("b.sh", "echo B >> '\(log)'\nexec '\(Self.binary.path)' \"$@\"")
        let grid = [
            "--strategies", "tiled,sliding", "--patterns", "full", "--seq-lens", "32", "--heads", "1", "--head-dims",
            "16",
            "--min-reps", "6", "--max-reps", "6", "--min-time", "0", "--rounds", "3",
            "--retries", "0", "--threshold", "500%",
        ]  // microsecond cases: no verdict on their noise
        let r = try attnbench(
            [
                "ab", "--baseline-binary", a, "--current-binary", b, "--out-dir", dir.path("out"),
                "--format", "markdown",
            ] + grid)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(
            try String(contentsOfFile: log, encoding: .utf8), "A\nB\nB\nA\nA\nB\n",
            "one case, three rounds; sliding is n/a")
        XCTAssert(r.stdout.hasPrefix("### attnbench compare: ✅ no regression"), r.stdout)
        for side in ["baseline", "current"] {
            let rows = try ReportFile(path: dir.path("out/\(side).csv")).rows
            XCTAssertEqual(rows.map { $0["status"]! }, ["ok", "unsupported"])
            XCTAssertEqual(rows[0]["times_ms"]!.split(separator: ";").count, 6)
            XCTAssertNotEqual(rows[0]["other_cpu_pct"], "")
            XCTAssert(FileManager.default.fileExists(atPath: dir.path("out/\(side).json")))
        }

        let broken = try wrapper("broken.sh", "echo 'attnbench: error: Unknown option --min-reps' >&2\nexit 64")
        let failed = try attnbench(
            ["ab", "--baseline-binary", broken, "--current-binary", b, "--out-dir", dir.path("out2")] + grid)
        XCTAssertEqual(failed.status, 2, failed.stderr)
        XCTAssertEqual(failed.errors.count, 1, failed.stderr)
        XCTAssert(
            failed.errors[0].contains(
                "the baseline build (\(broken)) measured no case: exit status 64: Unknown option --min-reps"),
            failed.stderr)

        try assertEachFailsWithOneErrorLine(
            [
                (
                    ["--baseline-binary", dir.path("missing")],
                    "--baseline-binary '\(dir.path("missing"))' is not an executable file"
                ),
                (["--baseline-binary", a, "--rounds", "0"], "--rounds must be at least 1"),
            ], prefix: ["ab"])
    }

    /// Each `(arguments, message)` exits non-zero with exactly one
    /// `attnbench: error:` line, which contains the message.
    func assertEachFailsWithOneErrorLine(
        _ cases: [([String], String)], prefix: [String] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        for (arguments, expected) in cases {
            let r = try attnbench(prefix + arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)", file: file, line: line)
            XCTAssertEqual(r.errors.count, 1, "\(arguments): \(r.stderr)", file: file, line: line)
            XCTAssert(r.errors.first?.contains(expected) == true, "\(arguments): \(r.stderr)", file: file, line: line)
        }
    }
}
