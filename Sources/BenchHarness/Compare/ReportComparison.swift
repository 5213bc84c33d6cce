import Foundation

/// How two sweep reports are compared (see ``ReportComparison``).
public struct ComparisonOptions: Sendable {
    /// Which time is compared.
    public enum Metric: String, CaseIterable, Sendable {
        /// Each repetition × the report's `sgemm_gflops`: time in units of the
        /// machine's GEMM work, so a baseline survives a different load or a
        /// similar machine.
        case normalized
        /// Raw milliseconds.
        case median
    }

    /// A time ratio beyond 1 + threshold (or below 1 / (1 + threshold)) can count.
    public var threshold: Double = 0.10
    /// The same for peak extra memory.
    public var memoryThreshold: Double = 0.10
    /// Memory changes smaller than this many bytes never count (page-level noise).
    public var memorySlackBytes: Int = 1 << 20
    public var metric: Metric = .normalized
    /// Significance level of the Mann-Whitney U test.
    public var alpha: Double = 0.05
    /// Below this many repetitions on either side the test has no power; the
    /// samples must then not overlap at all.
    public static let minimumSamplesForTest = 5

    public init() {}
}

/// The outcome for one case.
public enum Verdict: String, Sendable, Comparable {
    case regression, improvement, unchanged, new, missing

    public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }
    var rank: Int { [.regression: 0, .improvement: 1, .new: 2, .missing: 3, .unchanged: 4][self]! }
}

public struct CaseComparison: Sendable {
    public var key: CaseKey
    public var verdict: Verdict
    public var timeVerdict: Verdict?
    public var memoryVerdict: Verdict?
    public var baselineMs: Double?
    public var currentMs: Double?
    /// Current / baseline in the chosen metric (medians).
    public var ratio: Double?
    public var pValue: Double?
    public var baselineMemory: Int?
    public var currentMemory: Int?
    /// Whether either side was measured while the machine was disturbed
    /// (the reports' `disturbed` column): the verdict may not be the code's.
    public var disturbed = false
    public var note: String
}

public struct ComparisonReport: Sendable {
    public var baselinePath: String
    public var currentPath: String
    public var options: ComparisonOptions
    public var cases: [CaseComparison]
    /// Why the metric fell back from normalized to median, if it did.
    public var metricNote: String

    public var regressions: Int { cases.filter { $0.verdict == .regression }.count }

    public func count(_ v: Verdict) -> Int { cases.filter { $0.verdict == v }.count }
}

/// Compares a current sweep report with a baseline, case by case.
///
/// The rule, per case matched on ``CaseKey``:
/// - **time**: ratio = median(current) / median(baseline) in the chosen
///   metric. It is a *regression* when ratio > 1 + threshold **and** the two
///   samples really differ: a two-sided Mann-Whitney U test on the
///   per-repetition times gives p < alpha (with fewer than 5 repetitions on a
///   side, every current time must exceed every baseline time instead). When
///   both rows pool 5 or more processes (`round_sizes`, written by
///   `attnbench ab`), the test compares the processes' medians instead. The
///   mirror image is an *improvement*; anything else is *unchanged*.
/// - **memory**: peak extra bytes; a regression when current > baseline ×
///   (1 + memory threshold) and the growth exceeds the slack (1 MiB).
/// - **status**: a case that was measured in the baseline and now fails,
///   times out or gives wrong results (or was wrong and now fails) is a
///   regression; a case only in the
///   current report is *new*, one only in the baseline (or now skipped) is
///   *missing*.
public enum ReportComparison {
    public struct InputError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func compare(baseline: ReportFile, current: ReportFile, options: ComparisonOptions) throws
        -> ComparisonReport
    {
        let base = try index(baseline), cur = try index(current)
        guard !Set(base.keys).isDisjoint(with: cur.keys) else {
            throw InputError(
                description:
                    "\(baseline.path) and \(current.path) have no case in common (cases match on strategy, pattern, shape, threads and tile)"
            )
        }
        var metric = options.metric
        var metricNote = ""
        if metric == .normalized {
            let missing = (baseline.rows + current.rows).contains {
                timed($0) && Double($0["sgemm_gflops"] ?? "") == nil
            }
            if missing {
                metric = .median
                metricNote = "a timed row has no sgemm_gflops: compared raw medians"
            }
        }
        // Version 1 reports took the median of 5 sgemm runs; later ones the fastest.
        let v1 = (
            baseline.rows.contains { $0["schema_version"] == "1" },
            current.rows.contains { $0["schema_version"] == "1" }
        )
        if metric == .normalized, v1.0 != v1.1 {
            metricNote +=
                (metricNote.isEmpty ? "" : "; ")
                + "warning: one report is schema version 1, whose sgemm rate was the median of 5 runs (later versions: the fastest): "
                + "normalized ratios are shifted by that; --metric median avoids it"
        }
        let baseKernels = Set(baseline.rows.compactMap { $0["kernel"] }.filter { !$0.isEmpty })
        let curKernels = Set(current.rows.compactMap { $0["kernel"] }.filter { !$0.isEmpty })
        if !baseKernels.isEmpty, !curKernels.isEmpty, baseKernels != curKernels {
            metricNote +=
                (metricNote.isEmpty ? "" : "; ")
                + "warning: tile kernels differ (baseline \(baseKernels.sorted().joined(separator: ",")), current \(curKernels.sorted().joined(separator: ","))): "
                + "time differences may be the kernels', not the code's"
        }
        let baseCores = Set(baseline.rows.compactMap { $0["blas_core"] }.filter { !$0.isEmpty })
        let curCores = Set(current.rows.compactMap { $0["blas_core"] }.filter { !$0.isEmpty })
        if !baseCores.isEmpty, !curCores.isEmpty, baseCores != curCores {
            metricNote +=
                (metricNote.isEmpty ? "" : "; ")
                + "warning: OpenBLAS kernels differ (baseline \(baseCores.sorted().joined(separator: ",")), current \(curCores.sorted().joined(separator: ","))): "
                + (metric == .normalized
                    ? "normalized times of strategies that do not use OpenBLAS are skewed by the sgemm rate"
                    : "OpenBLAS-bound times differ for that reason")
        }
        var out: [CaseComparison] = []
        for key in Set(base.keys).union(cur.keys) {
            out.append(compareCase(key, base[key], cur[key], options: options, metric: metric))
        }
        return ComparisonReport(
            baselinePath: baseline.path, currentPath: current.path, options: options,
            cases: out.sorted { a, b in
                a.verdict.rank != b.verdict.rank ? a.verdict.rank < b.verdict.rank : order(a.key, b.key)
            },
            metricNote: metricNote)
    }

    static func order(_ a: CaseKey, _ b: CaseKey) -> Bool {
        (a.pattern, a.seqLen, a.strategy, a.headDim, a.description) < (
            b.pattern, b.seqLen, b.strategy, b.headDim, b.description
        )
    }

    /// The report's rows by case. A case may appear twice only when the rows
    /// agree in everything but the time they were written (a concatenated
    /// copy); otherwise which one counts would be a guess.
    static func index(_ report: ReportFile) throws -> [CaseKey: [String: String]] {
        var out: [CaseKey: [String: String]] = [:]
        var lineOf: [CaseKey: Int] = [:]
        for (row, line) in zip(report.rows, report.lines) {
            guard let k = CaseKey(row: row) else {
                throw InputError(description: "\(report.path): row \(line) does not name a case")
            }
            if let earlier = out[k] {
                var a = earlier, b = row
                a["finished_at"] = nil
                b["finished_at"] = nil
                guard a == b else {
                    throw InputError(
                        description:
                            "\(report.path): rows \(lineOf[k]!) and \(line) are the same case (\(k)) with different results"
                    )
                }
                continue
            }
            out[k] = row
            lineOf[k] = line
        }
        return out
    }

    static func timed(_ row: [String: String]) -> Bool {
        (row["status"] == "ok" || row["status"] == "wrong") && !(row["times_ms"] ?? "").isEmpty
    }

    static func samples(_ row: [String: String], _ metric: ComparisonOptions.Metric) -> [Double] {
        let ms = (row["times_ms"] ?? "").split(separator: ";").compactMap { Double($0) }
        guard metric == .normalized, let rate = Double(row["sgemm_gflops"] ?? "") else { return ms }
        return ms.map { $0 * 1e-3 * rate }
    }

    /// The median of each round's samples, when the row pools several
    /// processes (`round_sizes`); nil for a row from one process.
    ///
    /// Why: repetitions inside one process sit close together while the
    /// machine's speed moves between processes, so pooled repetitions are
    /// not independent samples, and a test on them overstates significance.
    /// One median per process is.
    static func roundMedians(_ row: [String: String], _ samples: [Double]) -> [Double]? {
        guard let text = row["round_sizes"], !text.isEmpty else { return nil }
        var medians: [Double] = [], start = 0
        for size in text.split(separator: ";").compactMap({ Int($0) }) {
            guard size >= 1, start + size <= samples.count else { return nil }
            guard let median = try? SampleStatistics(Array(samples[start ..< start + size])).median else { return nil }
            medians.append(median)
            start += size
        }
        return medians
    }

    static func compareCase(
        _ key: CaseKey, _ b: [String: String]?, _ c: [String: String]?,
        options: ComparisonOptions, metric: ComparisonOptions.Metric
    ) -> CaseComparison {
        var r = CaseComparison(key: key, verdict: .unchanged, note: "")
        r.baselineMs = b.flatMap { Double($0["median_ms"] ?? "") }
        r.currentMs = c.flatMap { Double($0["median_ms"] ?? "") }
        r.baselineMemory = b.flatMap { Int($0["peak_extra_bytes"] ?? "") }
        r.currentMemory = c.flatMap { Int($0["peak_extra_bytes"] ?? "") }
        guard let b else {
            r.verdict = .new
            r.note = "only in the current report (\(c?["status"] ?? ""))"
            return r
        }
        guard let c else {
            r.verdict = .missing
            r.note = "only in the baseline (\(b["status"] ?? ""))"
            return r
        }
        let bStatus = b["status"] ?? "", cStatus = c["status"] ?? ""
        if (bStatus == "ok" && ["failed", "timeout", "wrong"].contains(cStatus))
            || (bStatus == "wrong" && ["failed", "timeout"].contains(cStatus))
        {
            r.verdict = .regression
            r.note = "now \(cStatus): \(c["reason"] ?? "")"
            return r
        }
        guard timed(b), timed(c) else {
            if timed(b) {
                r.verdict = .missing
                r.note = "now \(cStatus): \(c["reason"] ?? "")"
            } else if timed(c) {
                r.verdict = .new
                r.note = "was \(bStatus)"
            } else {
                r.note = bStatus == cStatus ? "\(cStatus) in both" : "\(bStatus) → \(cStatus)"
            }
            return r
        }
        r.disturbed = b["disturbed"] == "1" || c["disturbed"] == "1"
        // Time.
        let bs = samples(b, metric), cs = samples(c, metric)
        // Timed rows hold one or more finite times (checked when the reports were read).
        guard let bm = try? SampleStatistics(bs).median, let cm = try? SampleStatistics(cs).median else {
            r.note = "no timing samples"
            return r
        }
        let ratio = cm / bm
        r.ratio = ratio
        let slower = ratio > 1 + options.threshold, faster = ratio < 1 / (1 + options.threshold)
        var differ = false
        // With rounds on both sides, the test compares the rounds' medians.
        var (tb, tc) = (bs, cs)
        if let rb = roundMedians(b, bs), let rc = roundMedians(c, cs),
            rb.count >= ComparisonOptions.minimumSamplesForTest, rc.count >= ComparisonOptions.minimumSamplesForTest
        {
            (tb, tc) = (rb, rc)
        }
        if tb.count >= ComparisonOptions.minimumSamplesForTest && tc.count >= ComparisonOptions.minimumSamplesForTest {
            let p = SampleStatistics.mannWhitneyU(tc, tb).pValue
            r.pValue = p
            differ = p < options.alpha
        } else {
            differ = slower ? tc.min()! > tb.max()! : (faster ? tc.max()! < tb.min()! : false)
        }
        r.timeVerdict = slower && differ ? .regression : (faster && differ ? .improvement : .unchanged)
        if (slower || faster) && !differ { r.note = "time change within noise" }
        // Memory.
        if let bb = r.baselineMemory, let cb = r.currentMemory {
            let grew = Double(cb) > Double(bb) * (1 + options.memoryThreshold) && cb - bb > options.memorySlackBytes
            let shrank = Double(cb) * (1 + options.memoryThreshold) < Double(bb) && bb - cb > options.memorySlackBytes
            r.memoryVerdict = grew ? .regression : (shrank ? .improvement : .unchanged)
        }
        let verdicts = [r.timeVerdict, r.memoryVerdict].compactMap { $0 }
        r.verdict =
            verdicts.contains(.regression) ? .regression : (verdicts.contains(.improvement) ? .improvement : .unchanged)
        if cStatus == "wrong" {
            r.verdict = .regression
            r.note = "wrong results: \(c["reason"] ?? "")"
        }
        if r.disturbed && r.verdict != .unchanged {
            let sides = [("baseline", b), ("current", c)].filter { $0.1["disturbed"] == "1" }.map { side, row in
                "\(side): other processes \(row["other_cpu_pct"] ?? "?")%, steal \(row["steal_pct"] ?? "?")%"
            }
            r.note +=
                (r.note.isEmpty ? "" : "; ") + "unreliable, measured while the machine was disturbed ("
                + sides.joined(separator: "; ") + "): measure again"
        }
        return r
    }
}
