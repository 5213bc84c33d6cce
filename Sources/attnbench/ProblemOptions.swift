import ArgumentParser
import Attention
import BenchHarness
import Foundation

/// Batch and heads, shared by `run` and `sweep`.
struct HeadLayoutOptions: ParsableArguments {
    // Optional underneath, so that `run --inputs` can tell a given flag from a default.
    @Option(name: .customLong("batch"), parsing: .unconditional, help: "Batch size B (default 1).")
    var batchFlag: Int?
    var batch: Int { batchFlag ?? 1 }

    @Option(name: .customLong("heads"), parsing: .unconditional, help: "Query heads H (default 8).")
    var headsFlag: Int?
    var heads: Int { headsFlag ?? 8 }

    @Option(
        name: .customLong("kv-heads"), parsing: .unconditional,
        help: "Key/value heads (divides --heads; default: --heads).")
    var kvHeads: Int?

    func validate() throws {
        for (flag, value) in [("--batch", batch), ("--heads", heads), ("--kv-heads", kvHeads ?? 1)] where value < 1 {
            throw ValidationError("\(flag) must be at least 1, got \(value)")
        }
    }

    /// Checks that `--kv-heads` divides `heads`, the query heads in force
    /// (`--heads`, else the command's or preset's default), naming where
    /// that value came from.
    func requireKVHeadsDivide(_ heads: Int, source: String) throws {
        if let g = kvHeads, heads % g != 0 {
            throw ValidationError("\(source) (\(heads)) must be a multiple of --kv-heads (\(g))")
        }
    }
}

/// The shape of one problem, for `run`.
struct ShapeOptions: ParsableArguments {
    @Option(name: .customLong("seq-len"), parsing: .unconditional, help: "Query length Nq.")
    var seqLen: Int?

    @Option(name: .customLong("kv-len"), parsing: .unconditional, help: "Key/value length Nk (default: --seq-len).")
    var kvLen: Int?

    @Option(name: .customLong("head-dim"), parsing: .unconditional, help: "Head dimension d (default 64).")
    var headDimFlag: Int?
    var headDim: Int { headDimFlag ?? 64 }

    @OptionGroup var layout: HeadLayoutOptions

    func validate() throws {
        for (flag, value) in [("--seq-len", seqLen), ("--kv-len", kvLen), ("--head-dim", headDim)]
        where (value ?? 1) < 1 {
            throw ValidationError("\(flag) must be at least 1, got \(value!)")
        }
        try layout.requireKVHeadsDivide(layout.heads, source: "--heads")
    }

    /// The shape for query length `length` (with `--kv-len` when given).
    func shape(queryLength: Int) throws -> AttentionShape {
        do {
            return try AttentionShape(
                batch: layout.batch, heads: layout.heads, kvHeads: layout.kvHeads,
                queryLength: queryLength, keyLength: kvLen ?? queryLength, headDim: headDim)
        } catch let e as AttentionError {
            throw ValidationError(e.description)
        }
    }
}

/// How a case is run and repeated.
struct ExecutionOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(parsing: .unconditional, help: "Seed of the standard normal Q, K, V (xoshiro256** + Box-Muller).")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Untimed runs before timing.")
    var warmup: Int = 1

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if threads > cores {
            FileHandle.standardError.write(
                Data(
                    "attnbench: warning: --threads \(threads) exceeds the \(cores) cores; at most \(cores) run at once, so figures are for \(cores) threads\n"
                        .utf8))
        }
        if warmup < 0 { throw ValidationError("--warmup must be 0 or more, got \(warmup)") }
    }
}

/// Adaptive repetition: run until both a count and a time are reached.
struct RepetitionOptions: ParsableArguments {
    @Option(name: .customLong("min-reps"), parsing: .unconditional, help: "Timed runs at least (default 5).")
    var minReps: Int?

    @Option(name: .customLong("max-reps"), parsing: .unconditional, help: "Timed runs at most (default 30).")
    var maxReps: Int?

    @Option(
        name: .customLong("min-time"), parsing: .unconditional,
        help: "Seconds of timed runs at least, within --max-reps (default 1).")
    var minTime: Double?

    /// An hour of timed runs per case: more is a typo (or `inf`).
    static let maxMinTime: Double = 3600

    func validate() throws {
        if let r = minReps, r < 1 { throw ValidationError("--min-reps must be at least 1, got \(r)") }
        if let r = maxReps, r < 1 { throw ValidationError("--max-reps must be at least 1, got \(r)") }
        if let t = minTime, !(t >= 0 && t <= Self.maxMinTime) {
            throw ValidationError("--min-time must be 0 to \(Int(Self.maxMinTime)) seconds, got \(t)")
        }
        if let r = minReps, let m = maxReps, m < r {
            throw ValidationError("--max-reps (\(m)) must be at least --min-reps (\(r))")
        }
    }

    /// The given values over ``RepetitionPolicy``'s defaults.
    func policy(warmup: Int) -> RepetitionPolicy {
        let defaults = RepetitionPolicy()
        // A lone --max-reps below the default minimum lowers the minimum too: at most means at most.
        let minReps = self.minReps ?? min(defaults.minReps, maxReps ?? defaults.minReps)
        return RepetitionPolicy(
            warmup: warmup, minReps: minReps, maxReps: max(maxReps ?? defaults.maxReps, minReps),
            minTime: minTime ?? defaults.minTime)
    }
}

/// Parses `--pattern` values with the model's own parser, so the message names what is allowed.
func parsePattern(_ text: String) throws -> MaskPattern {
    do { return try MaskPattern(parsing: text) } catch let e as AttentionError { throw ValidationError(e.description) }
}

/// Checks a `--strategy` value against the registry.
/// A native strategy's or a peer's name.
func parseStrategyName(_ text: String) throws -> String {
    guard StrategyRegistry.names.contains(text) || PeerRegistry.peer(named: text) != nil else {
        throw ValidationError(
            "unknown strategy '\(text)' (known: \(StrategyRegistry.names.joined(separator: ", ")); peers: \(PeerRegistry.names.joined(separator: ", ")))"
        )
    }
    return text
}

func parseTile(_ text: String) throws -> TileSize {
    do { return try TileSize(parsing: text) } catch let e as AttentionError { throw ValidationError(e.description) }
}

/// The tile kernel and the tuning file, shared by `run`, `sweep` and `ab`.
struct KernelOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help:
            "Tile kernel: \(KernelID.allCases.map(\.rawValue).joined(separator: ", ")) (default: the tuning file's choice, else the widest this CPU and build can run; see attnbench list).",
        transform: parseKernel)
    var kernel: KernelID?

    @Option(
        parsing: .unconditional,
        help:
            "Tuning file written by attnbench tune (default: \(TuningFile.defaultPath) when it exists; none: use none)."
    )
    var tuning: String?

    func validate() throws {
        if let kernel {
            do { try KernelTable.require(kernel) } catch let e as AttentionError {
                throw ValidationError("--kernel: \(e.description)")
            }
        }
        // The file from any source is checked before anything runs: a bad
        // entry is one error line here, not a failed case per row later.
        do { _ = try TuningCache.file(for: TuningSource(flag: tuning)) } catch { throw ValidationError("\(error)") }
    }
}

/// Checks a `--kernel` value against the table.
func parseKernel(_ text: String) throws -> KernelID {
    do { return try KernelTable.parse(text) } catch let e as AttentionError { throw ValidationError(e.description) }
}
