import ArgumentParser
import Attention
import BenchHarness
import Foundation

/// A named grid: the defaults of every grid flag that is not given.
enum GridPreset: String, ExpressibleByArgument, CaseIterable {
    /// Training and prompt processing: Nq = Nk from 512 to 16384, the four
    /// pattern families, 8 heads of 64.
    case prefill
    /// Generation against a KV cache: 1 and 16 new queries against Nk from
    /// 4096 to 1M (cases over the memory budget are skipped), 32 query heads
    /// sharing 8 key/value heads of 128, full attention, a 4096-key
    /// window and BigBird blocks.
    case decode

    var seqLens: String { self == .prefill ? "512:16384" : "1,16" }
    var kvLens: String? { self == .prefill ? nil : "4096:1048576" }
    var patterns: String { self == .prefill ? "full,causal,window:256,bigbird:64" : "full,window:4096,bigbird:64" }
    var heads: Int { self == .prefill ? 8 : 32 }
    var kvHeads: Int? { self == .prefill ? nil : 8 }
    var headDims: String { self == .prefill ? "64" : "128" }
    /// Decoding reads the KV cache, whose bytes the precision halves.
    var dtypes: String { self == .prefill ? "f32" : "f32,f16,bf16" }
}

/// A comma list of precisions, each once, in the order given; the error names `flag`.
func parsePrecisions(_ text: String, flag: String) throws -> [Precision] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    let parsed = parts.map { Precision(rawValue: $0) }
    guard !parts.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
        throw ValidationError("\(flag) '\(text)' must be a comma list of \(Precision.allowedList)")
    }
    return parsed.map { $0! }.uniqued()
}

/// One pass (forward, backward or both); the error names `flag`.
func parsePass(_ text: String, flag: String = "--pass") throws -> Pass {
    guard let pass = Pass(rawValue: text) else {
        throw ValidationError(
            "\(flag) '\(text)' must be one of \(Pass.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return pass
}

/// A comma list of passes, each once, in the order given; the error names `flag`.
func parsePasses(_ text: String, flag: String) throws -> [Pass] {
    try text.split(separator: ",", omittingEmptySubsequences: false).map { try parsePass(String($0), flag: flag) }
        .uniqued()
}

extension Array where Element == Precision {
    /// The one precision of a single-valued flag.
    func onlyElement(flag: String) throws -> Precision {
        guard count == 1 else { throw ValidationError("\(flag) takes one of \(Precision.allowedList), got \(count)") }
        return self[0]
    }
}

/// The grid of cases and its budgets, shared by `sweep` and `ab`.
///
/// `--preset` sets the defaults of the grid flags; a flag given explicitly
/// overrides its preset value.
struct GridOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help:
            "A named grid whose values the other grid flags override: prefill (the default; Nq = Nk) or decode (Nq 1 and 16 against a long KV cache)."
    )
    var preset: GridPreset = .prefill

    @Option(
        parsing: .unconditional,
        help:
            "Comma-separated strategies (default: all native ones); peers (\(PeerRegistry.names.joined(separator: ", "))) are named like strategies."
    )
    var strategies: String = StrategyRegistry.names.joined(separator: ",")

    @Option(
        name: .customLong("seq-lens"),
        parsing: .unconditional,
        help: "Query lengths: a list (512,1024,4096) or a doubling range (512:65536) (default: the preset's).")
    var seqLensFlag: String?
    var seqLens: String { seqLensFlag ?? preset.seqLens }

    @Option(
        name: .customLong("patterns"), parsing: .unconditional,
        help: "Comma-separated patterns (see attnbench list; default: the preset's).")
    var patternsFlag: String?
    var patterns: String { patternsFlag ?? preset.patterns }

    @Option(
        name: .customLong("kv-lens"),
        parsing: .unconditional,
        help:
            "Key lengths every query length meets: a list or a doubling range (default: the preset's; prefill: equal to each --seq-lens value)."
    )
    var kvLensFlag: String?

    @Option(
        name: .customLong("kv-len"), parsing: .unconditional,
        help: "A single key length for every case (the same as --kv-lens N).")
    var kvLen: Int?

    @OptionGroup var layout: HeadLayoutOptions

    @Option(
        name: .customLong("head-dims"), parsing: .unconditional,
        help: "Comma-separated head dimensions (default: the preset's).")
    var headDimsFlag: String?
    var headDims: String { headDimsFlag ?? preset.headDims }

    @Option(
        name: .customLong("dtypes"), parsing: .unconditional,
        help:
            "Comma-separated storage precisions of Q, K, V and O: f32, f16, bf16 (accumulation is f32; default: the preset's, prefill f32, decode f32,f16,bf16)."
    )
    var dtypesFlag: String?
    var dtypes: String { dtypesFlag ?? preset.dtypes }

    @Option(
        parsing: .unconditional,
        help:
            "Comma-separated passes: forward, backward, both (the backward takes f32; peers time it through their own autograd where they have one). (default: forward)"
    )
    var passes: String = Pass.forward.rawValue

    @Option(
        parsing: .unconditional, help: "Tile ROWSxCOLUMNS for the blockwise strategies (default: each strategy's).",
        transform: parseTile)
    var tile: TileSize?

    @OptionGroup var kernelOptions: KernelOptions

    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var repetition: RepetitionOptions

    @Option(
        name: .customLong("memory-limit"),
        parsing: .unconditional,
        help: "Skip cases whose predicted peak exceeds this (e.g. 8G, 512M; default: 75% of physical memory).")
    var memoryLimit: String?

    @Option(
        parsing: .unconditional,
        help: "Seconds a case may run before it is killed; cases predicted to take longer are skipped.")
    var timeout: Double = 300

    /// A week: longer is a typo (or `inf`), and seconds must fit an `Int`.
    static let maxTimeout: Double = 7 * 24 * 3600

    func validate() throws {
        _ = try plan()
        if !(timeout > 0 && timeout <= Self.maxTimeout) {
            throw ValidationError(
                "--timeout must be a positive number of seconds up to \(Int(Self.maxTimeout)) (a week), got \(timeout)")
        }
    }

    func plan() throws -> SweepPlan {
        // Repeated values name the same cases once: a case is measured and written once.
        let names = strategies.split(separator: ",").map(String.init).uniqued()
        for n in names { _ = try parseStrategyName(n) }
        guard !names.isEmpty else {
            throw ValidationError("--strategies is empty (known: \(StrategyRegistry.names.joined(separator: ", ")))")
        }
        if tile != nil, !names.contains(where: { (try? StrategyRegistry.strategy(named: $0))?.tileKernel != nil }) {
            throw ValidationError("--tile does not apply to \(names.joined(separator: ", ")): none of them has tiles")
        }
        let given = patterns.split(separator: ",").map(String.init)
        guard !given.isEmpty else { throw ValidationError("--patterns is empty") }
        var seenPatterns = Set<String>()
        let patternList = try given.filter { seenPatterns.insert(try parsePattern($0).description).inserted }
        guard let lengths = SweepPlan.parseLengths(seqLens)?.uniqued() else {
            throw ValidationError(
                "--seq-lens '\(seqLens)' must be a comma list of lengths ≥ 1 (512,1024) or a doubling range LOW:HIGH (512:65536)"
            )
        }
        let dims = headDims.split(separator: ",").map { Int($0) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--head-dims '\(headDims)' must be a comma list of integers ≥ 1")
        }
        let precisions = try parsePrecisions(dtypes, flag: "--dtypes")
        let passList = try parsePasses(passes, flag: "--passes")
        if let n = kvLen, n < 1 { throw ValidationError("--kv-len must be at least 1, got \(n)") }
        if kvLen != nil, kvLensFlag != nil { throw ValidationError("give --kv-len or --kv-lens, not both") }
        var keyLengths: [Int]? = kvLen.map { [$0] }
        if let text = kvLensFlag ?? (kvLen == nil ? preset.kvLens : nil) {
            guard let parsed = SweepPlan.parseLengths(text)?.uniqued() else {
                throw ValidationError(
                    "--kv-lens '\(text)' must be a comma list of lengths ≥ 1 (4096,8192) or a doubling range LOW:HIGH (4096:1048576)"
                )
            }
            keyLengths = parsed
        }
        try layout.requireKVHeadsDivide(
            layout.headsFlag ?? preset.heads,
            source: layout.headsFlag == nil ? "the \(preset.rawValue) preset's --heads" : "--heads")
        var limit = ProcessMemory.physicalBytes / 4 * 3
        if let text = memoryLimit {
            guard let v = Bytes.parse(text), v > 0 else {
                throw ValidationError("--memory-limit '\(text)' must be a size such as 8G, 512M or 1048576")
            }
            limit = v
        }
        let grid = SweepGrid(
            strategies: names, patterns: patternList, seqLens: lengths, kvLens: keyLengths,
            headDims: dims.map { $0! }.uniqued(), dtypes: precisions, passes: passList,
            batch: layout.batch, heads: layout.headsFlag ?? preset.heads,
            kvHeads: layout.kvHeads ?? (layout.headsFlag == nil ? preset.kvHeads : nil), threads: execution.threads,
            tile: tile?.description, kernel: kernelOptions.kernel?.rawValue, seed: execution.seed,
            repetitions: repetition.policy(warmup: execution.warmup))
        return SweepPlan(grid: grid, tuning: kernelOptions.tuning, memoryLimitBytes: limit, timeoutSeconds: timeout)
    }
}

/// The comparison rule's knobs, shared by `compare` and `ab`.
struct ComparisonFlags: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown }

    @Option(
        parsing: .unconditional, help: "Time ratio beyond which a significant change counts (e.g. 10% or 0.1).",
        transform: parsePercent)
    var threshold: Double = 0.10

    @Option(
        name: .customLong("memory-threshold"), parsing: .unconditional, help: "The same for peak extra memory.",
        transform: parsePercent)
    var memoryThreshold: Double = 0.10

    @Option(parsing: .unconditional, help: "Significance level of the Mann-Whitney U test.")
    var alpha: Double = 0.05

    @Option(parsing: .unconditional, help: "normalized (times × each report's sgemm rate) or median (raw ms).")
    var metric: ComparisonOptions.Metric = .normalized

    @Option(parsing: .unconditional, help: "text or markdown (for a pull-request comment).")
    var format: Format = .text

    func validate() throws {
        if !(alpha > 0 && alpha < 1) { throw ValidationError("--alpha must be between 0 and 1, got \(alpha)") }
    }

    var options: ComparisonOptions {
        var options = ComparisonOptions()
        options.threshold = threshold
        options.memoryThreshold = memoryThreshold
        options.alpha = alpha
        options.metric = metric
        return options
    }

    func render(_ report: ComparisonReport) -> String { format == .markdown ? report.markdown() : report.text() }
}

extension ComparisonOptions.Metric: ExpressibleByArgument {}

/// `10%` or the fraction `0.1`.
func parsePercent(_ text: String) throws -> Double {
    let percent = text.hasSuffix("%")
    guard let v = Double(percent ? String(text.dropLast()) : text), v >= 0, v.isFinite, percent || v < 1 else {
        throw ValidationError("'\(text)' must be a percentage such as 10% or a fraction below 1 such as 0.1")
    }
    return percent ? v / 100 : v
}

extension Array where Element: Hashable {
    /// The elements in order, each only at its first occurrence.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
