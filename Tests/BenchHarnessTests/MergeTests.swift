import Attention
import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

/// `attnbench merge`: shards of one grid join into the report an unsharded
/// sweep writes; missing, duplicated and foreign reports are caught.
final class MergeTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "merge-tests") }

    override func tearDown() { directory.remove() }

    static let plan = SweepPlan(
        grid: SweepGrid(
            strategies: ["dense", "tiled", "sliding"], patterns: ["full", "causal", "window:4"], seqLens: [8, 24],
            headDims: [8], batch: 1, heads: 2, kvHeads: 1, threads: 1, tile: nil, seed: 5,
            repetitions: RepetitionPolicy(warmup: 0, minReps: 2, maxReps: 2, minTime: 0)),
        memoryLimitBytes: 1 << 34,
        timeoutSeconds: 60)

    /// Runs shard `k` of `count` (or the whole grid) into `name` and returns the report's path.
    @discardableResult
    func sweep(_ name: String, shard: SweepShard? = nil, plan: SweepPlan = MergeTests.plan) throws -> String {
        let base = directory.path(name)
        let path = shard?.reportPath(for: base) ?? base
        try SweepRunner(
            plan: plan, outputPath: path, resume: false, inProcess: true, calibrationSize: 64,
            bandwidthBytes: 1 << 20, shard: shard
        ).run()
        return path
    }

    func shards(_ name: String, count: Int) throws -> [String] {
        try (0 ..< count).map { try sweep(name, shard: SweepShard(index: $0, count: count)) }
    }

    func keys(_ path: String) throws -> [CaseKey] { try ReportFile(path: path).rows.compactMap(CaseKey.init(row:)) }

    func testShardsMergeIntoTheUnshardedReport() throws {
        let whole = try sweep("whole.csv")
        let parts = try shards("s.csv", count: 3)
        // The shards' JSON say which shard of which grid they are.
        let env =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: SweepRunner.environmentPath(forReport: parts[1]))))
            as! [String: Any]
        XCTAssertEqual((env["shard"] as? [String: Any])?["index"] as? Int, 1)
        XCTAssertEqual(env["grid_fingerprint"] as? String, Self.plan.grid.fingerprint)
        XCTAssertEqual((env["shard_predicted_seconds"] as? [Double])?.count, 3)

        let merge = try ReportMerge(paths: parts.reversed(), allowMixed: false)
        XCTAssertFalse(merge.isIncomplete)
        XCTAssert(merge.conflicts.isEmpty)
        let out = directory.path("merged.csv")
        try merge.write(to: out)
        // The same cases in the same order as the unsharded sweep, whichever order the shards came in.
        XCTAssertEqual(try keys(out), try keys(whole))
        let merged = try ReportFile(path: out)
        XCTAssert(merged.rows.allSatisfy { $0["machine"] == "" })
        XCTAssertEqual(merged.rows.filter { $0["status"] == "ok" }.count, 2 * 3 + 2 * 3 + 2)
        let mergedEnv =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: SweepRunner.environmentPath(forReport: out))))
            as! [String: Any]
        XCTAssertNil(mergedEnv["shard"])
        XCTAssertEqual((mergedEnv["merged_from"] as? [Any])?.count, 3)
        // compare reads the merged report as any other.
        let report = try ReportComparison.compare(
            baseline: try ReportFile(path: whole), current: merged, options: ComparisonOptions())
        XCTAssertEqual(report.cases.count, try keys(whole).count)
    }

    func testMissingShardIsListed() throws {
        let parts = try shards("s.csv", count: 3)
        let merge = try ReportMerge(paths: [parts[0], parts[2]], allowMixed: false)
        XCTAssert(merge.isIncomplete)
        XCTAssertEqual(merge.gaps[0].missingShards, [1])
        let expected = try Self.plan.cases(in: SweepShard(index: 1, count: 3)).cases.map(CaseKey.init)
        XCTAssertEqual(merge.gaps[0].missingCases, expected)
        XCTAssert(merge.summary(out: "x.csv").contains("missing shard(s): 1/3"))
    }

    func testDuplicatesCountOnceWhenIdenticalAndAreListedWhenTheyDiffer() throws {
        let parts = try shards("s.csv", count: 2)
        let twice = try ReportMerge(paths: parts + [parts[0]], allowMixed: false)
        XCTAssert(twice.conflicts.isEmpty)
        XCTAssertEqual(twice.repeatedIdentical, try keys(parts[0]).count)
        // The same shard measured again: same cases, other times.
        let again = directory.path("again/s.csv")
        try FileManager.default.createDirectory(
            atPath: directory.path("again"), withIntermediateDirectories: true)
        let rerun = try sweep("again/s.csv", shard: SweepShard(index: 0, count: 2))
        XCTAssertEqual(rerun, SweepShard(index: 0, count: 2).reportPath(for: again))
        // Two reports claiming one shard: which is right is not merge's to guess.
        XCTAssertThrowsError(try ReportMerge(paths: parts + [rerun], allowMixed: false)) { error in
            XCTAssert("\(error)".contains("both claim shard 0/2"), "\(error)")
        }
    }

    /// Edits the `.json` beside `report` with `change`.
    func editEnvironment(of report: String, _ change: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: SweepRunner.environmentPath(forReport: report))
        var env = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        change(&env)
        try JSONSerialization.data(withJSONObject: env).write(to: url)
    }

    /// A shard's claim is checked: its index must exist, and its rows must
    /// be that shard's cases.
    func testShardClaimsAreCheckedAgainstEachOther() throws {
        let parts = try shards("claims.csv", count: 2)
        try editEnvironment(of: parts[1]) { $0["shard"] = ["index": 5, "count": 2] }
        XCTAssertThrowsError(try ReportMerge(paths: parts, allowMixed: false)) { error in
            XCTAssert("\(error)".contains("claims shard 5/2, which a split into 2 does not have"), "\(error)")
        }
        try editEnvironment(of: parts[1]) { $0["shard"] = ["index": 0, "count": 2] }
        XCTAssertThrowsError(try ReportMerge(paths: [parts[1]], allowMixed: false)) { error in
            XCTAssert("\(error)".contains("is a case of the grid but not of shard 0/2"), "\(error)")
        }
    }

    /// A build with uncommitted changes is not the commit it names.
    func testADirtyBuildIsAnotherBuild() throws {
        let parts = try shards("dirty.csv", count: 2)
        try editEnvironment(of: parts[0]) { $0["git_dirty"] = false }
        try editEnvironment(of: parts[1]) { $0["git_dirty"] = true }
        XCTAssertThrowsError(try ReportMerge(paths: parts, allowMixed: false)) { error in
            XCTAssert("\(error)".contains("with uncommitted changes"), "\(error)")
        }
    }

    /// A row whose status contradicts its own columns stops merge (and
    /// compare, which reads reports the same way).
    func testARowThatContradictsItsStatusIsRefused() throws {
        let parts = try shards("edited.csv", count: 2)
        let text = try String(contentsOfFile: parts[0], encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        let header = try CSVTable.parse(lines[0] + "\n")[0]
        let okRow = try XCTUnwrap(
            lines.indices.dropFirst().first { lines[$0].hasPrefix("\(ReportSchema.version),ok,") })
        var cells = try CSVTable.parse(lines[okRow] + "\n")[0]
        cells[header.firstIndex(of: "max_abs_error")!] = "1e9"
        lines[okRow] = String(CSVTable.line(cells).dropLast())
        try (lines.joined(separator: "\n") + "\n").write(toFile: parts[0], atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportMerge(paths: parts, allowMixed: false)) { error in
            XCTAssert("\(error)".contains("status ok, but its errors (max abs 1e9"), "\(error)")
        }
        XCTAssertThrowsError(try ReportFile(path: parts[0]))
    }

    func testAnotherGridIsRefused() throws {
        var other = Self.plan
        other.seqLens = [8, 32]
        let a = try sweep("a.csv", shard: SweepShard(index: 0, count: 2))
        let b = try sweep("b.csv", shard: SweepShard(index: 1, count: 2), plan: other)
        XCTAssertThrowsError(try ReportMerge(paths: [a, b], allowMixed: true)) { error in
            XCTAssert("\(error)".contains("is a shard of another grid"), "\(error)")
        }
        let c = try sweep("c.csv", shard: SweepShard(index: 1, count: 3))
        XCTAssertThrowsError(try ReportMerge(paths: [a, c], allowMixed: false)) { error in
            XCTAssert("\(error)".contains("the grid was split differently"), "\(error)")
        }
    }

    /// Reports of two machines are refused, naming what differs, unless
    /// mixing is allowed: then each machine's shards form their own
    /// complete grid and the machine column tells the rows apart.
    func testMixedMachinesNeedAllowMixed() throws {
        let here = try shards("here.csv", count: 2)
        let there = try shards("there.csv", count: 2)
        for path in there {
            let envPath = SweepRunner.environmentPath(forReport: path)
            var env =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: envPath)))
                as! [String: Any]
            env["cpu_model"] = "Other CPU"
            env["blas_core"] = "Other core"  // differs from every real core name
            try JSONSerialization.data(withJSONObject: env).write(to: URL(fileURLWithPath: envPath))
        }
        XCTAssertThrowsError(try ReportMerge(paths: here + there, allowMixed: false)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("CPU model"), text)
            XCTAssert(text.contains("BLAS core"), text)
            XCTAssert(text.contains("--allow-mixed"), text)
        }
        let merge = try ReportMerge(paths: here + there, allowMixed: true)
        XCTAssertFalse(merge.isIncomplete)
        XCTAssertEqual(merge.machines.count, 2)
        let out = directory.path("mixed.csv")
        try merge.write(to: out)
        let rows = try ReportFile(path: out).rows
        let cases = try Self.plan.cases().count
        XCTAssertEqual(rows.count, 2 * cases)
        XCTAssertEqual(rows.filter { $0["machine"]!.hasPrefix("Other CPU · Other core") }.count, cases)
        XCTAssertEqual(Set(try keys(out)).count, 2 * cases, "each case once per machine")
        // An incomplete machine group is still incomplete.
        let partial = try ReportMerge(paths: here + [there[0]], allowMixed: true)
        XCTAssert(partial.isIncomplete)
        XCTAssertEqual(partial.gaps[1].missingShards, [1])
    }

    /// merge compares commits, so a report names the commit of the program
    /// that measured it, not of the folder a job started it in.
    func testTheCommitIsTheProgramsWhereverItStarts() throws {
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", checkout, "rev-parse", "HEAD"]
        let out = Pipe()
        git.standardOutput = out
        git.standardError = FileHandle.nullDevice
        try git.run()
        let head = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        git.waitUntilExit()
        let before = FileManager.default.currentDirectoryPath
        XCTAssert(FileManager.default.changeCurrentDirectoryPath(directory.url.path))
        defer { FileManager.default.changeCurrentDirectoryPath(before) }
        let report = EnvironmentReport.capture(threads: 1, memoryLimitBytes: 1 << 30, timeoutSeconds: 1)
        XCTAssertEqual(report.gitCommit, git.terminationStatus == 0 ? head : nil)
    }

    func testAReportWithoutItsEnvironmentIsRefused() throws {
        let path = try sweep("alone.csv")
        try FileManager.default.removeItem(atPath: SweepRunner.environmentPath(forReport: path))
        XCTAssertThrowsError(try ReportMerge(paths: [path], allowMixed: false)) { error in
            XCTAssert("\(error)".contains("alone.json: not found"), "\(error)")
        }
    }

    /// `--resume` of a shard's report with another grid is refused, naming
    /// what differs; the report is untouched.
    func testResumingAShardWithAnotherGridIsRefused() throws {
        let shard = SweepShard(index: 0, count: 2)
        let path = try sweep("g.csv", shard: shard)
        let before = try String(contentsOfFile: path, encoding: .utf8)
        var other = Self.plan
        other.seqLens = [8, 40]
        for (plan, other, expected) in [
            (other, shard, "seq_lens [8,24] vs [8,40]"),
            (Self.plan, SweepShard(index: 1, count: 2), "shard 0/2 vs 1/2"),
        ] {
            XCTAssertThrowsError(
                try SweepRunner(
                    plan: plan, outputPath: path, resume: true, inProcess: true, calibrationSize: 64,
                    bandwidthBytes: 1 << 20, shard: other
                ).run()
            ) { error in XCTAssert("\(error)".contains(expected), "\(error)") }
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), before)
    }

    /// A plain report extended with another grid lists both grids.
    func testAPlainReportExtendedByAnotherGridRecordsBoth() throws {
        let path = try sweep("plain.csv")
        var other = Self.plan
        other.seqLens = [40]
        try SweepRunner(
            plan: other, outputPath: path, resume: true, inProcess: true, calibrationSize: 64, bandwidthBytes: 1 << 20
        ).run()
        let env = try XCTUnwrap(
            JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: SweepRunner.environmentPath(forReport: path))))
                as? [String: Any])
        let grids = try XCTUnwrap(env["grids"] as? [[String: Any]])
        XCTAssertEqual(grids.map { $0["seq_lens"] as? [Int] }, [[8, 24], [40]])
    }

    /// A failed array task re-run with `--resume` continues its own shard's report.
    func testResumeContinuesAShard() throws {
        let shard = SweepShard(index: 1, count: 2)
        let path = try sweep("r.csv", shard: shard)
        let full = try ReportFile(path: path)
        // Cut the report short, as a killed task leaves it.
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        try (lines.prefix(3).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let resumed = try SweepRunner(
            plan: Self.plan, outputPath: path, resume: true, inProcess: true, calibrationSize: 64,
            bandwidthBytes: 1 << 20, shard: shard
        ).run()
        XCTAssertEqual(resumed.count, full.rows.count - 2)
        XCTAssertEqual(try keys(path), full.rows.compactMap(CaseKey.init(row:)))
    }
}
