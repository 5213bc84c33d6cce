import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

/// The PyTorch peers from the command line, where PyTorch cannot be found:
/// listed as unavailable, refused flags, and `unsupported` rows in a sweep
/// that still measures the native strategies.
extension CLITests {
    /// An interpreter that does not exist, whatever this machine has installed.
    static let noPython = ["ATTNBENCH_PEER_PYTHON": "/nonexistent/python3"]

    func testListShowsThePeersAndWhyTheyCannotRun() throws {
        let r = try attnbench(["list"], environment: Self.noPython)
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in [
            "torch-sdpa", "torch-flex", "torch-math", "ort-attention", "ort-mha", "ort-gqa", "openvino-sdpa",
            "ggml-flash",
        ] {
            let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix(name + " ") }, r.stdout)
            XCTAssert(line.contains("not available"), String(line))
            XCTAssert(line.contains("/nonexistent/python3 not found"), String(line))
        }
        let sdpa = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("torch-sdpa ") })
        XCTAssert(sdpa.contains(" patterns: full, causal;"), String(sdpa))
    }

    func testPeerFlagsAreCheckedLikeAStrategy() throws {
        let tile = try attnbench(["run", "--strategy", "torch-sdpa", "--seq-len", "8", "--tile", "8x8"])
        XCTAssertNotEqual(tile.status, 0)
        XCTAssertEqual(tile.errors.count, 1, tile.stderr)
        XCTAssert(tile.stderr.contains("--tile does not apply to torch-sdpa: it is a peer"), tile.stderr)
        let unknown = try attnbench(["run", "--strategy", "torch-nope", "--seq-len", "8"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssert(unknown.stderr.contains("peers: torch-sdpa, torch-flex, torch-math"), unknown.stderr)
        let missing = try attnbench(
            ["run", "--strategy", "torch-flex", "--seq-len", "8", "--verify"], environment: Self.noPython)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.errors.count, 1, missing.stderr)
        XCTAssert(missing.stderr.contains("--strategy torch-flex: torch-flex: interpreter"), missing.stderr)
    }

    /// A sweep naming a peer that cannot run keeps going: `unsupported` rows
    /// with the reason, the native rows measured, exit 0.
    func testSweepWithAMissingPeerGivesUnsupportedRows() throws {
        let dir = try TemporaryDirectory(prefix: "cli-peers")
        defer { dir.remove() }
        let out = dir.path("peers.csv")
        let r = try attnbench(
            [
                "sweep", "--strategies", "tiled,torch-sdpa,torch-flex", "--patterns", "causal,window:3",
                "--seq-lens", "24", "--heads", "2", "--head-dims", "16", "--min-reps", "2", "--max-reps", "2",
                "--min-time", "0", "--warmup", "0",
                "--out", out,
            ], environment: Self.noPython)
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try ReportFile(path: out)
        XCTAssertEqual(report.rows.count, 6)
        for row in report.rows {
            switch (row["strategy"]!, row["pattern"]!) {
            case ("tiled", _): XCTAssertEqual(row["status"], "ok", row["reason"] ?? "")
            case ("torch-sdpa", "window:3"):
                XCTAssertEqual(row["status"], "unsupported")
                XCTAssertEqual(row["reason"], "torch-sdpa supports full, causal")
            default:
                XCTAssertEqual(row["status"], "unsupported")
                XCTAssert(row["reason"]!.contains("/nonexistent/python3 not found"), row["reason"]!)
            }
        }
    }
}
