import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

/// `sweep --shard` and `merge` from the command line, as a job array runs them.
extension CLITests {
    static let smallGrid = [
        "--strategies", "dense,tiled", "--patterns", "full,causal", "--seq-lens", "16,32", "--heads", "2",
        "--head-dims", "8", "--threads", "1", "--warmup", "0", "--min-reps", "2", "--max-reps", "2", "--min-time", "0",
    ]

    func testShardsFromTheJobArrayMergeIntoOneReport() throws {
        let dir = try TemporaryDirectory(prefix: "cli-shards")
        defer { dir.remove() }
        let out = dir.path("sweep.csv")
        // The task index comes from Slurm's variables, the count from the flag.
        for k in 0 ..< 2 {
            let r = try attnbench(
                ["sweep", "--shard", "2", "--out", out, "--in-process"] + Self.smallGrid,
                environment: ["SLURM_ARRAY_TASK_ID": "\(k)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssert(r.stdout.contains("report: \(dir.path("sweep.shard-\(k)-of-2.csv"))"), r.stdout)
        }
        let shards = (0 ..< 2).map { dir.path("sweep.shard-\($0)-of-2.csv") }
        // One shard alone: the other's cases are missing, nothing is written without --partial.
        let alone = try attnbench(["merge", out, shards[0]])
        XCTAssertEqual(alone.status, 1, alone.stderr)
        XCTAssertEqual(alone.errors.count, 1, alone.stderr)
        XCTAssert(alone.stdout.contains("missing shard(s): 1/2"), alone.stdout)
        XCTAssert(alone.stdout.contains("  missing "), alone.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let partial = try attnbench(["merge", "--partial", out, shards[0]])
        XCTAssertEqual(partial.status, 0, partial.stderr)
        try FileManager.default.removeItem(atPath: out)

        let merged = try attnbench(["merge", out] + shards)
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let report = try ReportFile(path: out)
        XCTAssertEqual(report.rows.count, 2 * 2 * 2)
        XCTAssert(report.rows.allSatisfy { $0["status"] == "ok" })
        // The unsharded dry run names the same cases.
        let dry = try attnbench(["sweep", "--dry-run", "--out", dir.path("d.csv")] + Self.smallGrid)
        XCTAssertEqual(dry.status, 0, dry.stderr)
        for row in report.rows {
            let key = CaseKey(row: row)!.description
            XCTAssert(dry.stdout.contains(key + " "), "\(key) not in the dry run")
        }
    }

    func testShardDryRunShowsTheShardAndEveryShardsTime() throws {
        let r = try attnbench(["sweep", "--dry-run", "--shard", "1/3"] + Self.smallGrid)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("shard 1/3 of the grid; every shard's predicted time: "), r.stdout)
        XCTAssert(r.stdout.contains("run      ~"), r.stdout)
        let runs = r.stdout.split(separator: "\n").filter { $0.contains(" run ") || $0.contains("run      ~") }
        XCTAssertLessThan(runs.count, 8, "a shard lists its own cases only")
    }

    func testBadShardAndMergeInputGetOneLineErrors() throws {
        let cases: [([String], String)] = [
            (["sweep", "--shard", "3/3", "--dry-run"], "--shard: K must be between 0 and N − 1 = 2, got 3"),
            (["sweep", "--shard", "two", "--dry-run"], "--shard 'two' must be K/N, N or auto"),
            (["sweep", "--shard", "4", "--dry-run"], "needs the task's index from SLURM_ARRAY_TASK_ID"),
            (["merge", "out.csv"], "give the shard reports to merge after OUT"),
            (["merge", "out.txt", "a.csv"], "OUT must name a .csv file"),
            (["merge", "/tmp/x.csv", "/tmp/x.csv"], "OUT /tmp/x.csv is also an input"),
            (["merge", "/tmp/merged.csv", "/nonexistent/a.csv"], "/nonexistent/a.csv"),
        ]
        try assertEachFailsWithOneErrorLine(cases)
    }
}
