import ArgumentParser
import Attention
import BenchHarness
import Foundation

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract:
            "Measure the tile kernels and tiles of each strategy on this machine and keep the fastest in a tuning file.",
        discussion: """
            For each strategy with something to tune, head dim and pattern: every kernel this CPU and build can run, \
            with each of the strategy's candidate tiles and the kernel's default, the fastest of --reps runs after a \
            warm-up. The fastest that matches the float64 reference is kept. run and sweep use the file when it exists \
            (the default location, or --tuning FILE) and nothing on their command line says otherwise.
            """)

    @Option(parsing: .unconditional, help: "Comma-separated strategies (default: every one with a tile kernel).")
    var strategies: String = StrategyRegistry.all.map { $0.make(.init()) }.filter { $0.tileKernel != nil }.map(\.name)
        .joined(separator: ",")

    @Option(name: .customLong("head-dims"), parsing: .unconditional, help: "Comma-separated head dimensions.")
    var headDims: String = "64"

    @Option(
        parsing: .unconditional,
        help: "Comma-separated storage precisions (f32, f16, bf16); winners are kept per precision.")
    var dtypes: String = "f32"

    @Option(
        parsing: .unconditional,
        help:
            "Comma-separated passes (forward, backward, both), timed as run --pass times them; winners are kept per pass."
    )
    var passes: String = Pass.forward.rawValue

    @Option(parsing: .unconditional, help: "Comma-separated patterns; each strategy is tuned on those it supports.")
    var patterns: String = "full,causal,window:256,bigbird:64"

    @Option(
        name: .customLong("seq-len"), parsing: .unconditional,
        help: "The length tuned on (tiles are cut to shorter problems).")
    var seqLen: Int = 4096

    @Option(parsing: .unconditional, help: "Query heads H.")
    var heads: Int = 8

    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(parsing: .unconditional, help: "Timed runs per candidate (the fastest counts).")
    var reps: Int = 3

    @Option(parsing: .unconditional, help: "Where to write the tuning file.")
    var tuning: String = TuningFile.defaultPath

    func validate() throws {
        for n in strategies.split(separator: ",").map(String.init) {
            _ = try parseStrategyName(n)
            if (try? StrategyRegistry.strategy(named: n))?.tileKernel == nil {
                throw ValidationError("--strategies: \(n) has nothing to tune (it uses no tile kernel)")
            }
        }
        for p in patterns.split(separator: ",") { _ = try parsePattern(String(p)) }
        _ = try parsePrecisions(dtypes, flag: "--dtypes")
        _ = try parsePasses(passes, flag: "--passes")
        guard let dims = Optional(headDims.split(separator: ",").map { Int($0) }), !dims.isEmpty,
            dims.allSatisfy({ ($0 ?? 0) >= 1 })
        else {
            throw ValidationError("--head-dims '\(headDims)' must be a comma list of integers ≥ 1")
        }
        for (flag, v) in [("--seq-len", seqLen), ("--heads", heads), ("--threads", threads), ("--reps", reps)]
        where v < 1 {
            throw ValidationError("\(flag) must be at least 1, got \(v)")
        }
        if tuning.isEmpty || tuning == "none" { throw ValidationError("--tuning must name a file to write") }
        // Checked before minutes of measuring, not after.
        do { try OutputFile.checkReplaceable(tuning, createDirectory: true) } catch let e as OutputFile.Refused {
            throw ValidationError("--tuning \(e.description)")
        }
    }

    func run() throws {
        // One writer per file: two tunes to one path would each replace the other's.
        let lock: ReportLock
        do { lock = try ReportLock(report: tuning) } catch { throw ValidationError("--tuning \(error)") }
        defer { lock.release() }
        let tuner = Tuner(
            strategies: strategies.split(separator: ",").map(String.init),
            headDims: headDims.split(separator: ",").compactMap { Int($0) },
            precisions: try parsePrecisions(dtypes, flag: "--dtypes"),
            passes: try parsePasses(passes, flag: "--passes"),
            patterns: patterns.split(separator: ",").map(String.init), seqLen: seqLen, heads: heads,
            threads: threads, reps: reps)
        FileHandle.standardError.write(
            Data(
                "attnbench: tuning on \(CPUFeatures.current().modelName); kernels here: \(KernelTable.available.map { KernelTable.descriptor($0).name }.joined(separator: ", "))\n"
                    .utf8))
        // Unbuffered per line: a tune takes minutes, and piped stdout is block-buffered.
        let file = try tuner.run { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        do { try file.write(to: tuning) } catch let e as OutputFile.Refused {
            throw ValidationError("--tuning \(e.description)")
        }
        print("\ntuning file: \(tuning) (\(file.entries.count) entries); run and sweep use it from now on")
    }
}
