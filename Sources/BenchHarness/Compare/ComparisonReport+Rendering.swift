import Foundation

extension ComparisonReport {
    var summaryLine: String {
        "\(count(.regression)) regression(s), \(count(.improvement)) improvement(s), \(count(.unchanged)) unchanged, \(count(.new)) new, \(count(.missing)) missing"
    }

    var ruleLine: String {
        String(
            format: "metric %@, time threshold %.0f%% with Mann-Whitney p < %.2g, memory threshold %.0f%% and > %@",
            options.metric.rawValue, options.threshold * 100, options.alpha, options.memoryThreshold * 100,
            Bytes.format(options.memorySlackBytes)) + (metricNote.isEmpty ? "" : " (\(metricNote))")
    }

    func cells(_ c: CaseComparison) -> [String] {
        func ms(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "–" }
        func mem(_ v: Int?) -> String { v.map(Bytes.format) ?? "–" }
        return [
            c.key.description,
            ms(c.baselineMs), ms(c.currentMs),
            c.ratio.map { String(format: "%.3f", $0) } ?? "–",
            c.pValue.map { String(format: "%.2g", $0) } ?? "–",
            "\(mem(c.baselineMemory)) → \(mem(c.currentMemory))",
            c.verdict.rawValue,
            [
                c.timeVerdict == .regression ? "slower" : nil, c.timeVerdict == .improvement ? "faster" : nil,
                c.memoryVerdict == .regression ? "more memory" : nil,
                c.memoryVerdict == .improvement ? "less memory" : nil,
                c.note.isEmpty ? nil : c.note,
            ].compactMap { $0 }.joined(separator: "; "),
        ]
    }

    /// Cases worth a table row: all but those untimed with the same status on
    /// both sides (a pattern the strategy never supported, say).
    var shownCases: [CaseComparison] { cases.filter { !($0.verdict == .unchanged && $0.note.hasSuffix(" in both")) } }

    /// Medians are shown in ms; the ratio and the test use the chosen metric.
    var headers: [String] {
        [
            "case", "baseline ms", "current ms", "ratio (\(options.metric.rawValue))", "p", "peak extra", "verdict",
            "note",
        ]
    }

    public func text() -> String {
        let rows = [headers] + shownCases.map(cells)
        let widths = (0 ..< headers.count).map { i in rows.map { $0[i].count }.max()! }
        var lines = ["baseline \(baselinePath)", "current  \(currentPath)", ruleLine, ""]
        for (n, row) in rows.enumerated() {
            lines.append(
                zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
            if n == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        lines += ["", summaryLine]
        return lines.joined(separator: "\n")
    }

    public func markdown() -> String {
        let status = regressions > 0 ? "❌ **\(regressions) regression(s)**" : "✅ no regression"
        var lines = [
            "### attnbench compare: \(status)", "",
            "`\(baselinePath)` → `\(currentPath)`; \(ruleLine).", "", summaryLine + ".", "",
            "| " + headers.joined(separator: " | ") + " |",
            "|" + String(repeating: " --- |", count: headers.count),
        ]
        for c in shownCases {
            var row = cells(c).map { $0.replacingOccurrences(of: "|", with: "\\|") }
            if c.verdict == .regression { row[6] = "**regression**" }
            lines.append("| " + row.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }
}
