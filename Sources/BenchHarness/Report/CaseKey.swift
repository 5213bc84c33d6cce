import Attention
import Foundation

/// What identifies a case across reports: a baseline and a current report
/// are matched on it, `--resume` skips cases whose key is already there, and
/// `merge` checks each shard's rows against its planned keys.
///
/// Each stored property but ``machine`` is a grid axis, declared once in
/// ``CaseAxis/all``: the report's key columns, reading a key from a row and
/// a child's `attnbench run` arguments all come from that table.
public struct CaseKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var strategy: String
    public var pattern: String
    public var batch: Int
    public var heads: Int
    public var kvHeads: Int
    public var seqLen: Int
    public var kvLen: Int
    public var headDim: Int
    /// The storage precision's name (``Precision/rawValue``).
    public var dtype: String
    /// The pass timed (``Pass/rawValue``).
    public var pass: String
    public var threads: Int
    public var tile: String
    /// The `machine` cell: empty, except in a report that `merge
    /// --allow-mixed` joined from several machines, where one case can
    /// appear once per machine.
    public var machine: String = ""

    public init(
        strategy: String, pattern: String, shape: AttentionShape, precision: Precision = .f32,
        pass: Pass = .forward, threads: Int, tile: String
    ) {
        self.pass = pass.rawValue
        self.strategy = strategy
        self.pattern = pattern
        batch = shape.batch
        heads = shape.heads
        kvHeads = shape.kvHeads
        seqLen = shape.queryLength
        kvLen = shape.keyLength
        headDim = shape.headDim
        dtype = precision.rawValue
        self.threads = threads
        self.tile = tile
    }

    /// The key of a planned case.
    public init(_ config: CaseConfig) {
        self.init(
            strategy: config.strategy, pattern: config.pattern, shape: config.shape, precision: config.precision,
            pass: config.pass, threads: config.threads, tile: config.tile ?? "")
    }

    /// The key of a report's row (its cells by column name), or nil when a
    /// cell of an axis without a run default is missing or empty, or a cell
    /// does not hold a value of its axis. A row without a `machine` cell (a
    /// report before schema version 5) has an empty machine.
    public init?(row: [String: String]) {
        var key = CaseKey(
            strategy: "", pattern: "", shape: .init(unchecked: 1, 1, 1, 1, 1, 1), threads: 1, tile: "")
        for axis in CaseAxis.all {
            // An empty or missing cell (a report older than the axis) is the
            // axis's run default, the value such reports measured.
            let given = row[axis.column].flatMap { $0.isEmpty ? nil : $0 }
            guard let cell = given ?? axis.runDefault, axis.read(&key, cell) else { return nil }
        }
        key.machine = row["machine"] ?? ""
        self = key
    }

    /// The flags that set this key's axes in `attnbench run`. An axis at its
    /// ``CaseAxis/runDefault`` is left out: the run defaults to it, and a
    /// build older than the axis still answers.
    public var runArguments: [String] {
        CaseAxis.all.flatMap { axis -> [String] in
            let cell = axis.cell(self)
            return cell == axis.runDefault ? [] : [axis.runFlag, cell]
        }
    }

    public var description: String {
        "\(strategy) \(pattern) B=\(batch) H=\(heads)/\(kvHeads) N=\(seqLen)" + (kvLen != seqLen ? "/\(kvLen)" : "")
            + " d=\(headDim)" + (dtype == Precision.f32.rawValue ? "" : " \(dtype)")
            + (pass == Pass.forward.rawValue ? "" : " \(pass)") + " T=\(threads)"
            + (tile.isEmpty ? "" : " tile \(tile)")
            + (machine.isEmpty ? "" : " on \(machine)")
    }
}

/// One axis of the case grid: a property of ``CaseKey`` that tells two cases
/// apart, with its report column, the `attnbench run` flag that sets it in
/// a child process, what its cells may hold and how it reads and prints.
///
/// Adding an axis is a property on ``CaseKey`` (and ``CaseConfig``) and one
/// entry in ``all``; the report's key columns (``ReportSchema``), the key of
/// a row (``CaseKey/init(row:)``), the child's arguments
/// (``CaseKey/runArguments``) and every comparison of keys (resume, merge,
/// compare, ab, the sweep's time model) follow.
public struct CaseAxis: Sendable {
    /// The report's column, and the name the rest of the report uses.
    public let column: String
    /// The `attnbench run` flag that sets it.
    public let runFlag: String
    /// The cell `attnbench run` assumes without ``runFlag`` (no `--tile`:
    /// the strategy's default tile), and what an empty or missing cell
    /// reads as; nil when the flag is always given and the cell required.
    /// A new axis declares the value every earlier report measured, so older
    /// reports read as that value and its flag reaches only the builds that
    /// know it.
    public let runDefault: String?
    /// What the column's cells may hold.
    public let kind: CellKind
    /// The column's meaning, for the column table.
    public let meaning: String
    /// The report schema version that introduced the column.
    public var since = 1
    /// The axis's cell of a key.
    public let cell: @Sendable (CaseKey) -> String
    /// Sets the axis of a key from a cell; false when the cell does not hold
    /// a value of the axis.
    public let read: @Sendable (inout CaseKey, String) -> Bool

    /// The grid's axes, in the order of the report's columns.
    public static let all: [CaseAxis] = [
        text("strategy", \.strategy, flag: "--strategy", kind: .key(.text), meaning: "registered strategy name"),
        text("pattern", \.pattern, flag: "--pattern", kind: .key(.text), meaning: "mask pattern, command-line syntax"),
        count("batch", \.batch, flag: "--batch", meaning: "batch size B"),
        count("heads", \.heads, flag: "--heads", meaning: "query heads H"),
        count("kv_heads", \.kvHeads, flag: "--kv-heads", meaning: "key/value heads"),
        count("seq_len", \.seqLen, flag: "--seq-len", meaning: "query length Nq"),
        count("kv_len", \.kvLen, flag: "--kv-len", meaning: "key length Nk"),
        count("head_dim", \.headDim, flag: "--head-dim", meaning: "head dimension d"),
        CaseAxis(
            column: "dtype", runFlag: "--dtype", runDefault: Precision.f32.rawValue, kind: .text,
            meaning: "storage of Q, K, V and O: \(Precision.allowedList) (accumulation is float32)",
            since: 7, cell: { $0.dtype },
            read: { key, cell in
                guard Precision(rawValue: cell) != nil else { return false }
                key.dtype = cell
                return true
            }),
        CaseAxis(
            column: "pass", runFlag: "--pass", runDefault: Pass.forward.rawValue, kind: .text,
            meaning:
                "the pass timed: forward, backward (dQ, dK, dV; the forward that saved O and L untimed) or both; useful FLOPs ×1, ×2.5, ×3.5",
            since: 8, cell: { $0.pass },
            read: { key, cell in
                guard Pass(rawValue: cell) != nil else { return false }
                key.pass = cell
                return true
            }),
        count("threads", \.threads, flag: "--threads", meaning: "worker threads"),
        text(
            "tile", \.tile, flag: "--tile", default: "", kind: .text,
            meaning: "tile RxC when set with --tile, else empty (the strategy's default)"),
    ]

    /// A text axis; its cells are stored as they are.
    static func text(
        _ column: String, _ path: WritableKeyPath<CaseKey, String> & Sendable, flag: String,
        default: String? = nil, kind: CellKind, meaning: String
    ) -> CaseAxis {
        CaseAxis(
            column: column, runFlag: flag, runDefault: `default`, kind: kind, meaning: meaning,
            cell: { $0[keyPath: path] },
            read: { key, cell in
                key[keyPath: path] = cell
                return true
            })
    }

    /// A count axis: an integer of at least 1.
    static func count(
        _ column: String, _ path: WritableKeyPath<CaseKey, Int> & Sendable, flag: String, meaning: String
    ) -> CaseAxis {
        CaseAxis(
            column: column, runFlag: flag, runDefault: nil, kind: .key(.integer(min: 1)), meaning: meaning,
            cell: { "\($0[keyPath: path])" },
            read: { key, cell in
                guard let value = Int(cell) else { return false }
                key[keyPath: path] = value
                return true
            })
    }
}
