import Attention
import Foundation

/// What defines a sweep's cases and their results: the axes' values, whose
/// product is the cases, and how each case is run. Stored with every report
/// (`grid` in its `.json`) and compared by `merge` and `--resume`. The
/// budgets (`--memory-limit`, `--timeout`) and the tuning file are not part
/// of it (``SweepPlan``), since they may differ between machines that run
/// one grid.
///
/// A list-valued field is an axis the grid spans (``cases(tuning:)`` loops
/// over it); a single value is the same for every case.
public struct SweepGrid: Codable, Sendable, Equatable {
    public var strategies: [String]
    public var patterns: [String]
    public var seqLens: [Int]
    /// The key lengths every query length meets, or nil for Nk = Nq.
    public var kvLens: [Int]?
    public var headDims: [Int]
    /// The storage precisions, or nil for f32 only (a grid from before the
    /// precision axis, whose fingerprint this keeps).
    public var dtypes: [Precision]?
    /// The passes timed, or nil for the forward only (a grid from before
    /// the pass axis, whose fingerprint this keeps).
    public var passes: [Pass]?
    public var batch: Int
    public var heads: Int
    /// Nil for as many key/value heads as query heads.
    public var kvHeads: Int?
    public var threads: Int
    public var tile: String?
    /// `--kernel` for every case (nil: not given).
    public var kernel: String?
    public var seed: UInt64
    public var repetitions: RepetitionPolicy

    // The JSON's names, in the order they are written.
    enum CodingKeys: String, CodingKey {
        case strategies, patterns
        case seqLens = "seq_lens"
        case kvLens = "kv_lens"
        case headDims = "head_dims"
        case dtypes, passes
        case batch, heads
        case kvHeads = "kv_heads"
        case threads, tile, kernel, seed, repetitions
    }

    public init(
        strategies: [String], patterns: [String], seqLens: [Int], kvLens: [Int]? = nil, headDims: [Int],
        dtypes: [Precision]? = nil, passes: [Pass]? = nil, batch: Int, heads: Int, kvHeads: Int?, threads: Int,
        tile: String?, kernel: String? = nil, seed: UInt64,
        repetitions: RepetitionPolicy
    ) {
        self.passes = passes == [.forward] ? nil : passes
        self.strategies = strategies
        self.patterns = patterns
        self.seqLens = seqLens
        self.kvLens = kvLens
        self.headDims = headDims
        self.dtypes = dtypes == [.f32] ? nil : dtypes
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads
        self.threads = threads
        self.tile = tile
        self.kernel = kernel
        self.seed = seed
        self.repetitions = repetitions
    }

    /// The cases in run order: shortest lengths first (query length, then
    /// key length), so the cheap part of the picture arrives early; each
    /// with `tuning` (a file, `none`, or nil for the default location).
    ///
    /// - Complexity: O(d·n·k·t·a·p·s) for the lengths of `headDims`, `seqLens`,
    ///   `kvLens`, `dtypes`, `passes`, `patterns` and `strategies`.
    public func cases(tuning: String? = nil) throws -> [CaseConfig] {
        var out: [CaseConfig] = []
        for d in headDims {
            for (n, nk) in seqLens.flatMap({ n in (kvLens ?? [n]).map { (n, $0) } }) {
                let shape = try AttentionShape(
                    batch: batch, heads: heads, kvHeads: kvHeads, queryLength: n, keyLength: nk, headDim: d)
                for (precision, p) in (dtypes ?? [.f32]).flatMap({ t in patterns.map { (t, $0) } }) {
                    for (pass, s) in (passes ?? [.forward]).flatMap({ a in strategies.map { (a, $0) } }) {
                        out.append(
                            CaseConfig(
                                strategy: s, tile: tile, kernel: kernel, tuning: tuning, shape: shape,
                                pattern: p, precision: precision, threads: threads, seed: seed,
                                repetitions: repetitions, verify: true, pass: pass))
                    }
                }
            }
        }
        return out
    }

    /// A plan of this grid (with budgets that do not matter for its cases).
    public var plan: SweepPlan { SweepPlan(grid: self, memoryLimitBytes: .max, timeoutSeconds: .infinity) }

    /// The fields in which `other` differs, as `name A vs B` with the JSON
    /// values (`seq_lens [16,32] vs [16,64]`), in the JSON's key order.
    public func differences(from other: SweepGrid) -> [String] {
        func fields(_ g: SweepGrid) -> [String: String] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard case .object(let o)? = try? JSONDecoder().decode(JSONValue.self, from: encoder.encode(g)) else {
                return [:]
            }
            return o.mapValues { value in
                (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            }
        }
        let a = fields(self), b = fields(other)
        return Set(a.keys).union(b.keys).sorted().compactMap { key in
            a[key] == b[key] ? nil : "\(key) \(a[key] ?? "none") vs \(b[key] ?? "none")"
        }
    }

    /// 16 hex digits of FNV-1a over the grid's canonical JSON: equal for
    /// equal grids on every machine and build.
    public var fingerprint: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(self)) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(format: "%016llx", hash)
    }
}
