import Attention
import ArgumentParser
import BenchHarness
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Measure strategies × patterns × lengths, each case verified, timed and memory-profiled in its own process; write a CSV report.")

    @Option(help: "Comma-separated strategies (default: all registered).")
    var strategies: String = StrategyRegistry.names.joined(separator: ",")

    @Option(name: .customLong("seq-lens"), help: "Lengths: a list (512,1024,4096) or a doubling range (512:65536).")
    var seqLens: String = "512:16384"

    @Option(help: "Comma-separated patterns (see attnbench list).")
    var patterns: String = "full,causal,window:256,bigbird:64"

    @Option(name: .customLong("kv-len"), help: "A fixed key length for every case (default: equal to each --seq-lens value).")
    var kvLen: Int?

    @OptionGroup var layout: HeadLayoutOptions

    @Option(name: .customLong("head-dims"), help: "Comma-separated head dimensions.")
    var headDims: String = "64"

    @Option(help: "Tile ROWSxCOLUMNS for the blockwise strategies (default: each strategy's).", transform: parseTile)
    var tile: TileSize?

    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var repetition: RepetitionOptions

    @Option(name: .customLong("memory-limit"), help: "Skip cases whose predicted peak exceeds this (e.g. 8G, 512M; default: 75% of physical memory).")
    var memoryLimit: String?

    @Option(help: "Seconds a case may run before it is killed; cases predicted to take longer are skipped.")
    var timeout: Double = 300

    @Option(help: "The CSV report to write (its environment goes beside it as .json).")
    var out: String = "results/sweep.csv"

    @Flag(help: "Continue an existing report, skipping the cases already in it.")
    var resume = false

    @Flag(name: .customLong("dry-run"), help: "Print the grid with each case's predicted memory and whether it would run; run nothing.")
    var dryRun = false

    @Flag(name: .customLong("in-process"), help: "Run cases in this process (faster; no isolation: a crash ends the sweep, memory mixes).")
    var inProcess = false

    @Flag(name: .customLong("print-schema"), help: "Print the CSV columns as a Markdown table and exit.")
    var printSchema = false

    func validate() throws {
        _ = try plan()
        if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds, got \(timeout)") }
        if !out.hasSuffix(".csv") { throw ValidationError("--out must name a .csv file, got '\(out)'") }
    }

    func plan() throws -> SweepPlan {
        let names = strategies.split(separator: ",").map(String.init)
        for n in names { _ = try parseStrategyName(n) }
        guard !names.isEmpty else { throw ValidationError("--strategies is empty (known: \(StrategyRegistry.names.joined(separator: ", ")))") }
        let patternList = patterns.split(separator: ",").map(String.init)
        guard !patternList.isEmpty else { throw ValidationError("--patterns is empty") }
        for p in patternList { _ = try parsePattern(p) }
        guard let lengths = SweepPlan.parseLengths(seqLens) else {
            throw ValidationError("--seq-lens '\(seqLens)' must be a comma list of lengths ≥ 1 (512,1024) or a doubling range LOW:HIGH (512:65536)")
        }
        let dims = headDims.split(separator: ",").map { Int($0) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--head-dims '\(headDims)' must be a comma list of integers ≥ 1")
        }
        if let n = kvLen, n < 1 { throw ValidationError("--kv-len must be at least 1, got \(n)") }
        var limit = ProcessMemory.physicalBytes / 4 * 3
        if let text = memoryLimit {
            guard let v = Bytes.parse(text), v > 0 else {
                throw ValidationError("--memory-limit '\(text)' must be a size such as 8G, 512M or 1048576")
            }
            limit = v
        }
        return SweepPlan(strategies: names, patterns: patternList, seqLens: lengths, kvLen: kvLen, headDims: dims.map { $0! },
                         batch: layout.batch, heads: layout.heads, kvHeads: layout.kvHeads, threads: execution.threads, tile: tile?.description,
                         seed: execution.seed, repetitions: repetition.policy(warmup: execution.warmup),
                         memoryLimitBytes: limit, timeoutSeconds: timeout)
    }

    func run() throws {
        if printSchema { print(ReportSchema.markdownTable()); return }
        let plan = try plan()
        if dryRun { print(try DryRun.render(plan)); return }
        let runner = SweepRunner(plan: plan, outputPath: out, resume: resume, inProcess: inProcess)
        let records: [SweepRecord]
        do { records = try runner.run() } catch let e as SweepRunner.SweepError {
            throw ValidationError(e.description)
        } catch let e as ReportFile.ReadError {
            throw ValidationError("--out \(e.description)")
        }
        print(SummaryTable.render(records))
        print("\nreport: \(out)\nenvironment: \(SweepRunner.environmentPath(forReport: out))")
    }
}

/// `sweep --dry-run`: the grid and what would happen to each case.
enum DryRun {
    static func render(_ plan: SweepPlan) throws -> String {
        var lines = ["memory limit \(Bytes.format(plan.memoryLimitBytes)), timeout \(Int(plan.timeoutSeconds)) s per case", ""]
        let cases = try plan.cases()
        var counts: [String: Int] = [:]
        for c in cases {
            let (admission, _, extra) = plan.admit(c)
            let key = CaseKey(c)
            let verdict: String
            switch admission {
            case .run(let peak): verdict = "run      predicted peak \(Bytes.format(peak)) (extra \(Bytes.format(extra ?? 0)))"; counts["run", default: 0] += 1
            case .skipped(let why): verdict = "skip     \(why)"; counts["skip", default: 0] += 1
            case .unsupported(let why): verdict = "n/a      \(why)"; counts["n/a", default: 0] += 1
            case .invalid(let why): verdict = "invalid  \(why)"; counts["invalid", default: 0] += 1
            }
            lines.append("\(key.description.padding(toLength: 58, withPad: " ", startingAt: 0)) \(verdict)")
        }
        lines.append("")
        lines.append("\(cases.count) cases: " + ["run", "skip", "n/a", "invalid"].compactMap { k in counts[k].map { "\($0) \(k)" } }.joined(separator: ", ")
                     + " (cases may also be skipped at run time when their predicted time exceeds --timeout)")
        return lines.joined(separator: "\n")
    }
}
