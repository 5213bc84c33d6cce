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

    @Option(help: "The CSV report to write (its environment goes beside it as .json).")
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

    func validate() throws {
        if !out.hasSuffix(".csv") { throw ValidationError("--out must name a .csv file, got '\(out)'") }
    }

    func run() throws {
        if printSchema {
            print(ReportSchema.markdownTable())
            return
        }
        let plan = try grid.plan()
        if dryRun {
            print(try DryRun.render(plan))
            return
        }
        let runner = SweepRunner(plan: plan, outputPath: out, resume: resume, inProcess: inProcess)
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
        if let warning = runner.calibrationWarning { print("\nwarning: \(warning)") }
        print("\nreport: \(out)\nenvironment: \(SweepRunner.environmentPath(forReport: out))")
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

/// `sweep --dry-run`: the grid and what would happen to each case.
enum DryRun {
    static func render(_ plan: SweepPlan) throws -> String {
        var lines = [
            "memory limit \(Bytes.format(plan.memoryLimitBytes)), timeout \(String(format: "%g", plan.timeoutSeconds)) s per case",
            "",
        ]
        let cases = try plan.cases()
        var counts: [String: Int] = [:]
        for c in cases {
            let (admission, _, extra) = plan.admit(c)
            let key = CaseKey(c)
            let verdict: String
            switch admission {
            case .run(let peak):
                verdict = "run      predicted peak \(Bytes.format(peak)) (extra \(Bytes.format(extra ?? 0)))"
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
            lines.append("\(key.description.padding(toLength: 58, withPad: " ", startingAt: 0)) \(verdict)")
        }
        lines.append("")
        lines.append(
            "\(cases.count) cases: "
                + ["run", "skip", "n/a", "invalid"].compactMap { k in counts[k].map { "\($0) \(k)" } }.joined(
                    separator: ", ")
                + " (cases may also be skipped at run time when their predicted time exceeds --timeout)")
        return lines.joined(separator: "\n")
    }
}
