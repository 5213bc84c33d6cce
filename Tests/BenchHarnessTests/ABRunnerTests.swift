import Attention
import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

/// The A/B runner with stand-in builds: the order of the runs, the pooling of
/// rounds, the re-measuring of suspects and the verdicts.
final class ABRunnerTests: XCTestCase {
    var directory: TemporaryDirectory!
    /// A real measured result to copy (its times are replaced).
    var template: CaseResult!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "ab-tests")
        let shape = try AttentionShape(batch: 1, heads: 1, queryLength: 16, keyLength: 16, headDim: 16)
        template = try CaseRunner.run(
            CaseConfig(
                strategy: "tiled", shape: shape, pattern: "full", threads: 1,
                repetitions: .fixed(warmup: 0, reps: 1), verify: true))
    }

    override func tearDown() { directory.remove() }

    func plan(strategies: [String] = ["dense", "tiled"], reps: Int = 12) -> SweepPlan {
        SweepPlan(
            grid: SweepGrid(
                strategies: strategies, patterns: ["full", "window:4"], seqLens: [16, 32], headDims: [16], batch: 1,
                heads: 1, kvHeads: nil, threads: 1, tile: nil, seed: 0,
                repetitions: RepetitionPolicy(warmup: 1, minReps: reps, maxReps: reps, minTime: 0)),
            memoryLimitBytes: 1 << 34, timeoutSeconds: 60)
    }

    /// A result for `config` whose times are `ms` with a little spread.
    func result(_ config: CaseConfig, ms: Double) -> CaseResult {
        var r = template!
        r.config = config
        r.timesMs = (0 ..< config.repetitions.minReps).map { ms * (1 + 0.01 * Double($0 % 3)) }
        r.verification = config.verify ? template.verification : nil
        return r
    }

    func runner(
        rounds: Int = 4, retries: Int = 2, strategies: [String] = ["dense", "tiled"],
        execute: @escaping ABRunner.Execute
    ) -> ABRunner {
        var options = ComparisonOptions()
        options.threshold = 0.15
        options.metric = .median
        return ABRunner(
            plan: plan(strategies: strategies),
            baseline: .init(executable: "/base", label: "base", outputPath: directory.path("b-\(UUID()).csv")),
            current: .init(executable: "/head", label: "head", outputPath: directory.path("c-\(UUID()).csv")),
            rounds: rounds, retries: retries, options: options, calibrationSize: 64, execute: execute)
    }

    func testBuildsAlternatePerCaseInRoundsAndRepetitionsAreSplit() throws {
        var calls: [(CaseKey, ABRunner.Which, CaseConfig)] = []
        let ab = runner { config, which in
            calls.append((CaseKey(config), which, config))
            return (.measured(self.result(config, ms: 10)), nil)
        }
        let outcome = try ab.run()
        XCTAssertEqual(outcome.comparison.regressions, 0)
        // dense on full and window:4, tiled on both, at two lengths: 8 cases, 4 rounds × 2 builds each.
        XCTAssertEqual(calls.count, 8 * 8)
        for (n, start) in stride(from: 0, to: calls.count, by: 8).enumerated() {
            let run = calls[start ..< start + 8]
            XCTAssertEqual(Set(run.map(\.0)).count, 1, "one case's rounds run back to back")
            let (a, b): (ABRunner.Which, ABRunner.Which) = n % 2 == 0 ? (.baseline, .current) : (.current, .baseline)
            XCTAssertEqual(run.map(\.1), [a, b, b, a, a, b, b, a], "A B B A …, the first side alternating per case")
            XCTAssertEqual(
                run.map(\.2.verify), [true, true, false, false, false, false, false, false], "verified once per build")
            XCTAssert(
                run.allSatisfy { $0.2.repetitions == RepetitionPolicy(warmup: 1, minReps: 3, maxReps: 3, minTime: 0) })
        }
        let rows = try ReportFile(path: ab.current.outputPath).rows.filter { $0["status"] == "ok" }
        XCTAssertEqual(rows.count, 8)
        XCTAssert(rows.allSatisfy { $0["times_ms"]!.split(separator: ";").count == 12 }, "the rounds' times are pooled")
        XCTAssert(rows.allSatisfy { $0["round_sizes"] == "3;3;3;3" })
        XCTAssert(rows.allSatisfy { $0["verified_rows"] == "16" || $0["verified_rows"] == "32" })
        let reference = try XCTUnwrap(Set(rows.map { $0["sgemm_gflops"]! }).first)
        XCTAssertEqual(Set(rows.map { $0["sgemm_gflops"]! }).count, 1, "one reference rate for every row")
        let env =
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: URL(fileURLWithPath: SweepRunner.environmentPath(forReport: ab.baseline.outputPath))))
            as? [String: Any]
        XCTAssertEqual(env?["label"] as? String, "base")
        XCTAssertEqual(env?["binary"] as? String, "/base")
        XCTAssertEqual((env?["sgemm_gflops_reference"] as? Double).map { String(format: "%.6g", $0) }, reference)
    }

    func testASlowerStrategyIsFlaggedAloneAndSurvivesRemeasuring() throws {
        var runs = 0
        let ab = runner { config, which in
            runs += 1
            let slow = which == .current && config.strategy == "tiled"
            return (.measured(self.result(config, ms: slow ? 13 : 10)), nil)
        }
        let outcome = try ab.run()
        let flagged = outcome.comparison.cases.filter { $0.verdict == .regression }
        XCTAssertEqual(Set(flagged.map(\.key.strategy)), ["tiled"])
        XCTAssertEqual(flagged.count, 4, "tiled on both patterns at both lengths")
        XCTAssert(flagged.allSatisfy { $0.note.contains("re-measured 2×") }, "\(flagged.map(\.note))")
        XCTAssertEqual(runs, 8 * 8 + 2 * 4 * 8, "each tiled case measured twice more")
    }

    func testATransientSlowdownIsClearedByRemeasuring() throws {
        var currentRuns: [CaseKey: Int] = [:]
        let ab = runner { config, which in
            var ms = 10.0
            if which == .current, config.strategy == "dense" {
                let n = currentRuns[CaseKey(config), default: 0]
                currentRuns[CaseKey(config)] = n + 1
                if n < 4 { ms = 20 }  // the whole first measurement (4 rounds) hit by noise
            }
            return (.measured(self.result(config, ms: ms)), nil)
        }
        let outcome = try ab.run()
        XCTAssertEqual(outcome.comparison.regressions, 0, outcome.comparison.text())
        let dense = outcome.comparison.cases.filter { $0.key.strategy == "dense" }
        XCTAssertEqual(dense.count, 4)
        // Pooled: 4 slow rounds and 4 quick ones still look slower; 4 slow of 12 do not.
        XCTAssert(
            dense.allSatisfy { $0.note.contains("re-measured 2×; before: regression at ratio 2.000") },
            "\(dense.map(\.note))")
        let rows = try ReportFile(path: ab.current.outputPath).rows.filter { $0["strategy"] == "dense" }
        XCTAssert(
            rows.allSatisfy { $0["round_sizes"] == Array(repeating: "3", count: 12).joined(separator: ";") },
            "every measurement's rounds are kept")
    }

    /// A real slowdown whose second measurement is hit by noise on the other
    /// side (alone, that measurement's ratio is 1.08) is not cleared by it:
    /// the rounds are pooled.
    func testARealSlowdownSurvivesANoisyRemeasurement() throws {
        var baselineRuns: [CaseKey: Int] = [:]
        let ab = runner(strategies: ["tiled"]) { config, which in
            if which == .current { return (.measured(self.result(config, ms: 13)), nil) }
            let n = baselineRuns[CaseKey(config), default: 0]
            baselineRuns[CaseKey(config)] = n + 1
            // Half the retry is noise.
            return (.measured(self.result(config, ms: (4 ..< 6).contains(n) ? 14 : 10)), nil)
        }
        let outcome = try ab.run()
        XCTAssertEqual(outcome.comparison.regressions, 4, outcome.comparison.text())
    }

    /// A change beyond the threshold that one measurement cannot call
    /// significant is measured again until it can.
    func testASlowdownWithinNoiseIsMeasuredAgain() throws {
        var runs = 0
        let ab = runner(strategies: ["tiled"]) { config, which in
            runs += 1
            // Baseline rounds alternate 10 and 14 ms: the first measurement's round medians overlap the current's 13.
            let round = runs % 4
            let ms = which == .current ? 13.0 : (round < 2 ? 10.0 : 10.5)
            return (.measured(self.result(config, ms: ms)), nil)
        }
        _ = try ab.run()
        XCTAssertGreaterThan(runs, 4 * 8, "the suspect cases were measured again")
    }

    func testADisturbedVerdictIsMeasuredAgainAndCalledUnreliable() throws {
        let busy = Interference(otherCPUPercent: 40, stealPercent: 0, wallSeconds: 1)
        let ab = runner(retries: 1, strategies: ["tiled"]) { config, which in
            let slow = which == .current
            return (.measured(self.result(config, ms: slow ? 20 : 10)), slow ? busy : nil)
        }
        let outcome = try ab.run()
        XCTAssertEqual(outcome.comparison.regressions, 4, "a slowdown stays a regression: it is not excused")
        for c in outcome.comparison.cases where c.verdict == .regression {
            XCTAssert(c.disturbed)
            XCTAssert(c.note.contains("unreliable, measured while the machine was disturbed"), c.note)
            XCTAssert(c.note.contains("re-measured 1×"), c.note)
        }
        let row = try ReportFile(path: outcome.comparison.currentPath).rows.first { $0["status"] == "ok" }!
        XCTAssertEqual(row["disturbed"], "1")
        XCTAssertEqual(row["other_cpu_pct"], "40")
    }

    func testABuildThatCannotRunIsAnErrorNotAPass() throws {
        let ab = runner { config, which in
            which == .baseline
                ? (.failed("exit status 64: unknown option '--min-reps'"), nil)
                : (.measured(self.result(config, ms: 10)), nil)
        }
        XCTAssertThrowsError(try ab.run()) { error in
            XCTAssertEqual(
                "\(error)", "the baseline build (base) measured no case: exit status 64: unknown option '--min-reps'")
        }
    }

    func testABuildThatFailsItsFirstCasesStopsTheRunEarly() throws {
        var baselineCalls = 0
        let ab = runner { config, which in
            if which == .baseline {
                baselineCalls += 1
                return (.failed("could not start /base: not found"), nil)
            }
            return (.measured(self.result(config, ms: 10)), nil)
        }
        XCTAssertThrowsError(try ab.run()) {
            XCTAssert("\($0)".contains("the baseline build (base) measured no case"), "\($0)")
        }
        XCTAssertEqual(baselineCalls, ABRunner.failuresBeforeGivingUp, "not the whole grid")
    }

    func testAGridWhereNothingRunsIsAnError() throws {
        var options = ComparisonOptions()
        options.metric = .median
        var p = plan(strategies: ["dense"])
        p.memoryLimitBytes = 1 << 10
        let ab = ABRunner(
            plan: p, baseline: .init(executable: "/base", label: "base", outputPath: directory.path("nb.csv")),
            current: .init(executable: "/head", label: "head", outputPath: directory.path("nc.csv")),
            options: options, calibrationSize: 64
        ) { config, _ in (.measured(self.result(config, ms: 10)), nil) }
        XCTAssertThrowsError(try ab.run()) { XCTAssert("\($0)".contains("no case of the grid ran"), "\($0)") }
    }

    func testAFailureOnOneSideIsMeasuredAgain() throws {
        var failedOnce = false
        let ab = runner(strategies: ["tiled"]) { config, which in
            if which == .baseline, config.shape.queryLength == 32, !failedOnce {
                failedOnce = true  // one transient failure: an out-of-memory kill caused by something else
                return (.failed("killed by signal 9 (the kernel's out-of-memory killer sends this)"), nil)
            }
            return (.measured(self.result(config, ms: 10)), nil)
        }
        let outcome = try ab.run()
        XCTAssertEqual(outcome.comparison.count(.unchanged), 4, outcome.comparison.text())
        let again = outcome.comparison.cases.filter { $0.note.contains("re-measured 1×; before: new") }
        XCTAssertEqual(again.map(\.key.seqLen), [32])
    }

    func testAFailingCaseIsARegressionAndIsNotRunAgainInLaterRounds() throws {
        var tiledCalls = 0
        let ab = runner(retries: 0) { config, which in
            if which == .current && config.strategy == "tiled" {
                tiledCalls += 1
                return (.failed("killed by signal 11"), nil)
            }
            return (.measured(self.result(config, ms: 10)), nil)
        }
        let outcome = try ab.run()
        XCTAssertEqual(tiledCalls, 4, "once per case: a failed build is not run again in later rounds")
        XCTAssert(
            outcome.comparison.cases.filter { $0.verdict == .regression }.allSatisfy { $0.note.contains("now failed") })
        XCTAssertEqual(outcome.comparison.regressions, 4)
    }

    func testExistingReportsAreNotOverwritten() throws {
        let ab = runner { config, _ in (.measured(self.result(config, ms: 10)), nil) }
        try "x\n".write(toFile: ab.current.outputPath, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ab.run()) { XCTAssert("\($0)".contains("already exists"), "\($0)") }
    }
}
