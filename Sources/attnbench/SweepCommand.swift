import ArgumentParser
import Attention
import BenchHarness
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract:
            "Measure strategies × patterns × lengths, each case verified, timed and memory-profiled in its own process; write a CSV report."
    )

    @OptionGroup var grid: GridOptions

    @Option(parsing: .unconditional, help: "The CSV report to write (its environment goes beside it as .json).")
    var out: String = "results/sweep.csv"

    @Flag(help: "Continue an existing report, skipping the cases already in it.")
    var resume = false

    @Flag(
        name: .customLong("dry-run"),
        help: "Print the grid with each case's predicted memory and whether it would run; run nothing.")
    var dryRun = false

    @Flag(
        name: .customLong("in-process"),
        help: "Run cases in this process (faster; no isolation: a crash ends the sweep, memory mixes).")
    var inProcess = false

    @Flag(name: .customLong("print-schema"), help: "Print the CSV columns as a Markdown table and exit.")
    var printSchema = false

    @Option(
        name: .customLong("shard"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Run part K of N (0-based) of the grid, balanced by predicted time: K/N; N (K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX); or auto (K and N from a Slurm array). The report is OUT.shard-K-of-N.csv and .json; attnbench merge joins them.",
            valueName: "K/N"))
    var shardFlag: String?

    func validate() throws {
        if !out.hasSuffix(".csv") { throw ValidationError("--out must name a .csv file, got '\(out)'") }
        _ = try shard()
    }

    /// `--shard` with the job array's variables, or nil without the flag.
    func shard() throws -> SweepShard? {
        guard let text = shardFlag else { return nil }
        do { return try SweepShard.parse(text, environment: ProcessInfo.processInfo.environment) } catch let e
            as SweepShard.ParseError
        {
            throw ValidationError(e.description)
        }
    }

    func run() throws {
        if printSchema {
            print(ReportSchema.markdownTable())
            return
        }
        let plan = try grid.plan()
        let shard = try shard()
        if dryRun {
            print(try DryRun.render(plan, shard: shard))
            return
        }
        let report = shard?.reportPath(for: out) ?? out
        let quick = SweepRunner.quickCalibration
        let runner = SweepRunner(
            plan: plan, outputPath: report, resume: resume, inProcess: inProcess,
            calibrationSize: quick?.size ?? 2048, bandwidthBytes: quick?.bytes ?? BandwidthCalibration.defaultBytes,
            shard: shard)
        let records: [SweepRecord]
        do { records = try runner.run() } catch let e as SweepRunner.SweepError {
            throw ValidationError(e.description)
        } catch let e as ReportFile.ReadError {
            throw ValidationError("--out \(e.description)")
        } catch let e as OutputFile.Refused {
            throw ValidationError("--out \(e.description)")
        } catch let e as ReportLock.Busy {
            throw ValidationError("--out \(e.description)")
        }
        print(SummaryTable.render(records))
        for warning in runner.warnings { print("\nwarning: \(warning)") }
        print("\nreport: \(report)\nenvironment: \(SweepRunner.environmentPath(forReport: report))")
        // Exit 1 only after everything is written: a CI step fails, the rows stay.
        let bad = records.filter { [.failed, .timeout, .wrong].contains($0.status) }
        if !bad.isEmpty {
            let counts = Dictionary(grouping: bad, by: \.status).map { "\($0.value.count) \($0.key.rawValue)" }.sorted()
            printError(
                "\(counts.joined(separator: ", ")) of \(records.count) cases (see the report's status and reason columns)"
            )
            throw ExitCode(1)
        }
    }
}

/// `sweep --dry-run`: the grid (or one shard of it), what would happen to
/// each case, and its predicted time (``CaseCost``).
enum DryRun {
    static func render(_ plan: SweepPlan, shard: SweepShard? = nil) throws -> String {
        var lines = [
            "memory limit \(Bytes.format(plan.memoryLimitBytes)), timeout \(String(format: "%g", plan.timeoutSeconds)) s per case",
            "",
        ]
        let cases: [CaseConfig]
        let seconds: [Double]
        var totals: [Double] = []
        if let shard {
            (cases, seconds, totals) = try plan.cases(in: shard)
        } else {
            cases = try plan.cases()
            seconds = plan.predictedSeconds(cases)
        }
        var counts: [String: Int] = [:]
        for (c, predicted) in zip(cases, seconds) {
            let (admission, _, extra) = plan.admit(c)
            let key = CaseKey(c)
            let verdict: String
            switch admission {
            case .run(let peak):
                verdict =
                    "run      ~\(formatSeconds(predicted)), predicted peak \(Bytes.format(peak)) (extra \(Bytes.format(extra ?? 0)))"
                counts["run", default: 0] += 1
            case .skipped(let why):
                verdict = "skip     \(why)"
                counts["skip", default: 0] += 1
            case .unsupported(let why):
                verdict = "n/a      \(why)"
                counts["n/a", default: 0] += 1
            case .invalid(let why):
                verdict = "invalid  \(why)"
                counts["invalid", default: 0] += 1
            }
            // Padded to a column, never cut: scripts read the case off the line.
            let name = key.description
            lines.append(name + String(repeating: " ", count: max(1, 59 - name.count)) + verdict)
        }
        lines.append("")
        lines.append(
            "\(cases.count) cases: "
                + ["run", "skip", "n/a", "invalid"].compactMap { k in counts[k].map { "\($0) \(k)" } }.joined(
                    separator: ", ")
                + " (cases may also be skipped at run time when their predicted time exceeds --timeout)")
        lines.append(
            "predicted time \(formatSeconds(seconds.reduce(0, +))) at a nominal \(Int(CaseCost.nominalGflopsPerThread)) GFLOP/s per thread (a planning figure; see README)"
        )
        if let shard, let low = totals.min(), let high = totals.max() {
            lines.append(
                "shard \(shard) of the grid; every shard's predicted time: "
                    + totals.map(formatSeconds).joined(separator: ", ")
                    + (low > 0 ? String(format: " (the longest %.1f%% over the shortest)", (high / low - 1) * 100) : "")
            )
        }
        return lines.joined(separator: "\n")
    }

    /// `12.3 s` below 100 s, else `4m05s` or `2h07m`.
    static func formatSeconds(_ s: Double) -> String {
        if s < 100 { return String(format: "%.1f s", s) }
        let whole = Int(s.rounded())
        return whole >= 3600
            ? String(format: "%dh%02dm", whole / 3600, whole / 60 % 60)
            : String(format: "%dm%02ds", whole / 60, whole % 60)
    }
}
