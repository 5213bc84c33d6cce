import Attention
import Foundation

/// The table printed at the end of a sweep: per pattern, length and
/// precision, each strategy's median time and peak extra memory, the fastest
/// marked `*`, and cases that did not give a trustworthy time said plainly.
/// A `dtype` column appears when some case is not f32, and a `pass` column
/// when some case times more than the forward.
public enum SummaryTable {
    public static func render(_ records: [SweepRecord]) -> String {
        let strategies = unique(records.map(\.key.strategy))
        let showsDType = records.contains { $0.key.dtype != Precision.f32.rawValue }
        let showsPass = records.contains { $0.key.pass != Pass.forward.rawValue }
        var groups: [String: [SweepRecord]] = [:]
        var order: [String] = []
        for r in records {
            let k = r.key
            let g =
                "\(k.pattern)|\(k.seqLen)|\(k.kvLen)|\(k.headDim)|\(k.dtype)|\(k.pass)|\(k.heads)|\(k.kvHeads)|\(k.batch)"
            if groups[g] == nil { order.append(g) }
            groups[g, default: []].append(r)
        }
        var lines: [[String]] = [
            ["pattern", "N", "d"] + (showsDType ? ["dtype"] : []) + (showsPass ? ["pass"] : []) + strategies
        ]
        for g in order {
            let rows = groups[g]!
            let first = rows[0].key
            let fastest = rows.filter { $0.status == .ok }.min {
                $0.result!.statistics.median < $1.result!.statistics.median
            }
            var line = [
                first.pattern, first.kvLen == first.seqLen ? "\(first.seqLen)" : "\(first.seqLen)/\(first.kvLen)",
                "\(first.headDim)",
            ]
            if showsDType { line.append(first.dtype) }
            if showsPass { line.append(first.pass) }
            for s in strategies {
                guard let r = rows.first(where: { $0.key.strategy == s }) else {
                    line.append("")
                    continue
                }
                switch r.status {
                case .ok, .wrong:
                    let m = r.result!
                    var cell = String(format: "%.2f ms %@", m.statistics.median, Bytes.format(m.peakExtraBytes))
                    if r.status == .wrong { cell = "WRONG " + cell }
                    if r.key == fastest?.key { cell += " *" }
                    line.append(cell)
                case .unsupported: line.append("n/a")
                case .skipped: line.append("skipped")
                case .failed: line.append("FAILED")
                case .timeout: line.append("TIMEOUT")
                }
            }
            lines.append(line)
        }
        let widths = (0 ..< lines[0].count).map { c in lines.map { $0[c].count }.max()! }
        var out = lines.map { l in
            zip(l, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        out.insert(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "), at: 1)
        out.append("")
        out.append(
            "cells: median time, peak extra memory; * fastest of the row; n/a: pattern not supported; skipped: over the memory or time budget (see the CSV's reason)"
        )
        let bad = records.filter { $0.status == .wrong || $0.status == .failed || $0.status == .timeout }
        for r in bad { out.append("\(r.status.rawValue.uppercased()): \(r.key): \(r.reason)") }
        return out.joined(separator: "\n")
    }

    static func unique(_ xs: [String]) -> [String] {
        var seen = Set<String>()
        return xs.filter { seen.insert($0).inserted }
    }
}
