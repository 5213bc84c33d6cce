import Attention
import Foundation

/// The CSV columns of a sweep report, defined once: the header, every row
/// and the column table of docs/report-columns.md all come from ``columns``,
/// so they cannot disagree. The columns that identify a case are the grid's
/// axes (``CaseAxis/all``). Units are in the names (`_ms`, `_bytes`), never
/// in the cells.
public enum ReportSchema {
    /// Bumped whenever a column is added, removed or changes meaning.
    /// Version 2 added the calibration and interference columns, version 3
    /// the kernel columns, version 4 the roofline columns, version 5 the
    /// `machine` column of merged reports, version 6 the measured compute
    /// peak and the bandwidth next to each case (`bound` and
    /// `fraction_of_roof` then rest on the peak, not on sgemm), version 7
    /// the `dtype` axis and the columns of what a precision costs, version 8
    /// the `pass` axis and the backward's saved and gradient bytes.
    public static let version = 8

    /// Every version this build reads: older reports lack the newer columns,
    /// whose cells then read as empty.
    public static let readableVersions = 1 ... version

    public struct Column: Sendable {
        public let name: String
        /// What its cells may hold; a report is read only when every cell fits.
        public let kind: CellKind
        public let meaning: String
        /// The schema version that introduced the column.
        public let since: Int
        let value: @Sendable (SweepRecord) -> String

        init(
            name: String, kind: CellKind, meaning: String, since: Int = 1,
            value: @escaping @Sendable (SweepRecord) -> String
        ) {
            self.name = name
            self.kind = kind
            self.meaning = meaning
            self.since = since
            self.value = value
        }
    }

    /// The header a report of `version` has.
    public static func header(version: Int) -> [String] { columns.filter { $0.since <= version }.map(\.name) }

    public static var header: [String] { columns.map(\.name) }

    public static func cells(_ r: SweepRecord) -> [String] { columns.map { $0.value(r) } }

    /// Each column's ``CellKind``, by name.
    public static let kinds: [String: CellKind] = Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0.kind) })

    /// The columns that identify a case (``CaseKey``): the grid's axes and
    /// `machine`.
    public static let keyColumns = CaseAxis.all.map(\.column) + ["machine"]

    static func number(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "" }
        return String(format: "%.6g", v)
    }
    static func int(_ v: Int?) -> String { v.map(String.init) ?? "" }
    static func stat(_ r: SweepRecord, _ f: (SampleStatistics) -> Double) -> String {
        number(r.result.map { f($0.statistics) })
    }

    public static let columns: [Column] =
        [
            Column(
                name: "schema_version", kind: .key(.integer(min: 1)), meaning: "version of this column set (\(version))"
            ) { _ in "\(version)" },
            Column(
                name: "status", kind: .key(.status),
                meaning: "ok, wrong (over tolerance), skipped (over budget), unsupported, failed, timeout"
            ) { $0.status.rawValue },
            Column(
                name: "reason", kind: .text,
                meaning:
                    "why a case was skipped, failed or is wrong; for an ok row, why a roofline fraction exceeds 1: a roof that moved (the row is then disturbed), or inputs that fit the last-level cache (cache-resident, not disturbed); else empty"
            ) {
                $0.reason
            },
        ]
        + CaseAxis.all.map { axis in
            Column(name: axis.column, kind: axis.kind, meaning: axis.meaning, since: axis.since) { axis.cell($0.key) }
        }
        + [
            Column(
                name: "kernel", kind: .text,
                meaning:
                    "the tile kernel the strategy ran with (attnbench list shows the table; openblas for dense's products)",
                since: 3
            ) {
                $0.result?.execution?.kernel ?? ""
            },
            Column(
                name: "tile_used", kind: .text,
                meaning: "the tile RxC the strategy ran with, after fitting it to the problem; empty when it has none",
                since: 3
            ) {
                $0.result?.execution?.tile?.description ?? ""
            },
            Column(
                name: "kernel_choice", kind: .text,
                meaning:
                    "how kernel and tile were chosen: flag (--kernel/--tile), tuned (the tuning file), flag+tuned, or default (the CPU's features and the kernel's tile)",
                since: 3
            ) {
                $0.result?.kernelChoice ?? ""
            },
            Column(name: "density", kind: .number(min: 0), meaning: "attended pairs / (Nq·Nk)") { number($0.density) },
            Column(name: "attended_pairs", kind: .integer(min: 0), meaning: "attended (query, key) pairs per head") {
                int($0.attendedPairs)
            },
            Column(name: "reps", kind: .integer(min: 0), meaning: "timed repetitions") {
                int($0.result?.statistics.count)
            },
            Column(name: "median_ms", kind: .number(min: 0), meaning: "median time of one call of the case's pass") {
                stat($0) { $0.median }
            },
            Column(name: "min_ms", kind: .number(min: 0), meaning: "fastest repetition") { stat($0) { $0.min } },
            Column(name: "max_ms", kind: .number(min: 0), meaning: "slowest repetition") { stat($0) { $0.max } },
            Column(name: "mean_ms", kind: .number(min: 0), meaning: "mean of the repetitions") { stat($0) { $0.mean } },
            Column(name: "stddev_ms", kind: .number(min: 0), meaning: "sample standard deviation (n−1)") {
                stat($0) { $0.standardDeviation }
            },
            Column(name: "p10_ms", kind: .number(min: 0), meaning: "10th percentile (linear interpolation)") {
                stat($0) { $0.p10 }
            },
            Column(name: "p90_ms", kind: .number(min: 0), meaning: "90th percentile") { stat($0) { $0.p90 } },
            Column(name: "times_ms", kind: .numbers, meaning: "every timed repetition in order, joined by ';'") {
                $0.result?.timesMs.map { String(format: "%.4f", $0) }.joined(separator: ";") ?? ""
            },
            Column(
                name: "round_sizes", kind: .counts,
                meaning:
                    "for a report of attnbench ab: the repetitions each round's process contributed to times_ms, in order, joined by ';' (compare then tests the rounds' medians); empty for one process",
                since: 2
            ) {
                $0.result?.roundSizes.map { $0.map(String.init).joined(separator: ";") } ?? ""
            },
            Column(
                name: "useful_gflops", kind: .number(min: 0),
                meaning: "4·B·H·d·attended_pairs / median, in GFLOP/s (×2.5 for the backward pass, ×3.5 for both)"
            ) {
                number($0.result?.usefulGflops)
            },
            Column(name: "tokens_per_s", kind: .number(min: 0), meaning: "B·Nq / median") {
                number($0.result?.tokensPerSecond)
            },
            Column(
                name: "sgemm_gflops", kind: .positive,
                meaning:
                    "cblas_sgemm 2048³ GFLOP/s with the same threads, the sweep's reference: the highest of its careful measurements at the start and the end and the median of its checks between cases (interference only ever lowers a GEMM's rate); every row of a finished sweep has the same"
            ) {
                number($0.sgemmGflops)
            },
            Column(
                name: "sgemm_gflops_local", kind: .positive,
                meaning:
                    "the quick cblas_sgemm check (the better of two 2048³ products) taken just before this case; far below sgemm_gflops means the machine was slow then",
                since: 2
            ) {
                number($0.sgemmLocalGflops)
            },
            Column(
                name: "normalized_sgemm_gflop", kind: .number(min: 0),
                meaning:
                    "median × sgemm_gflops: the case's time in units of this machine's GEMM work (GFLOP); compares across machines and load"
            ) {
                r in number(r.result.flatMap { res in r.sgemmGflops.map { res.statistics.median * 1e-3 * $0 } })
            },
            Column(name: "fraction_of_sgemm", kind: .number(min: 0), meaning: "useful_gflops / sgemm_gflops") {
                r in number(r.result.flatMap { res in r.sgemmGflops.map { res.usefulGflops / $0 } })
            },
            Column(
                name: "read_bandwidth_gbps", kind: .positive,
                meaning:
                    "streaming read GB/s (10⁹ B/s) over a buffer far larger than the last-level cache, same threads, the sweep's reference: the higher of its measurements at the start and the end; the memory roof",
                since: 4
            ) {
                number($0.readBandwidthGBps)
            },
            Column(
                name: "read_bandwidth_gbps_local", kind: .positive,
                meaning:
                    "the quick streaming read check (the better of two passes over the same buffer) taken just before this case: the memory roof of its roofline",
                since: 6
            ) {
                number($0.readBandwidthLocalGBps)
            },
            Column(
                name: "peak_instruction", kind: .text,
                meaning:
                    "the instruction whose measured peak is the row's compute roof: fma-512, fma-256 or fma-128, the FMA width of the row's tile kernel, of OpenBLAS's core (dense, the openblas kernel) or of a peer's CPU capability",
                since: 6
            ) {
                $0.peakInstruction?.rawValue ?? ""
            },
            Column(
                name: "peak_gflops", kind: .positive,
                meaning:
                    "the compute roof: peak GFLOP/s of peak_instruction with the same threads, measured by register-only loops of independent FMA chains, the higher of the sweep's start and end measurements",
                since: 6
            ) {
                number($0.peakGflops)
            },
            Column(
                name: "fraction_of_peak", kind: .number(min: 0), meaning: "useful_gflops / peak_gflops", since: 6
            ) {
                number($0.placement?.fractionOfPeak)
            },
            Column(
                name: "min_bytes", kind: .integer(min: 0),
                meaning:
                    "the least traffic of the case: Q and O once, and K and V once for every key some query attends, in float32",
                since: 4
            ) {
                int($0.roofline?.minimumBytes)
            },
            Column(
                name: "arithmetic_intensity", kind: .number(min: 0),
                meaning:
                    "useful FLOPs / min_bytes (FLOP/B); below peak_gflops / read_bandwidth_gbps_local a case is memory-bound",
                since: 4
            ) {
                number($0.roofline?.intensity)
            },
            Column(
                name: "achieved_gbps", kind: .number(min: 0),
                meaning: "min_bytes / median, GB/s (a lower bound on traffic)",
                since: 4
            ) {
                r in number(r.roofline.flatMap { roof in r.medianSeconds.map { roof.achievedGBps(seconds: $0) } })
            },
            Column(
                name: "fraction_of_bandwidth", kind: .number(min: 0),
                meaning: "achieved_gbps / read_bandwidth_gbps_local (read_bandwidth_gbps in reports before version 6)",
                since: 4
            ) {
                number($0.placement?.fractionOfBandwidth)
            },
            Column(
                name: "bound", kind: .text,
                meaning:
                    "memory or compute: which roof applies at arithmetic_intensity (memory when intensity × read_bandwidth_gbps_local < peak_gflops; before version 6, sgemm_gflops and read_bandwidth_gbps)",
                since: 4
            ) {
                $0.placement?.bound ?? ""
            },
            Column(
                name: "fraction_of_roof", kind: .number(min: 0),
                meaning:
                    "useful_gflops / min(peak_gflops, arithmetic_intensity × read_bandwidth_gbps_local): how close to the roof that applies (before version 6, sgemm_gflops and read_bandwidth_gbps)",
                since: 4
            ) {
                number($0.placement?.fractionOfRoof)
            },
            Column(name: "input_bytes", kind: .integer(min: 0), meaning: "bytes of Q, K, V and O") {
                "\($0.inputBytes)"
            },
            Column(
                name: "rss_before_inputs_bytes", kind: .integer(min: 0),
                meaning: "resident set of the case's process before the tensors exist"
            ) { int($0.result?.rssBeforeInputsBytes) },
            Column(
                name: "rss_with_inputs_bytes", kind: .integer(min: 0), meaning: "resident set with Q, K, V, O in place"
            ) { int($0.result?.rssWithInputsBytes) },
            Column(
                name: "peak_rss_bytes", kind: .integer(min: 0),
                meaning: "peak resident set during the timed runs (VmHWM after a clear_refs reset)"
            ) { int($0.result?.peakRssBytes) },
            Column(
                name: "peak_extra_bytes", kind: .integer(min: nil),
                meaning:
                    "peak_rss − rss_with_inputs (signed): the strategy's working memory, including what its first run touches for good (OpenBLAS buffers, worker stacks)"
            ) { int($0.result?.peakExtraBytes) },
            Column(
                name: "peak_was_reset", kind: .flag,
                meaning:
                    "1 when /proc/self/clear_refs reset the peak before the timed runs; 0 means peak_rss includes everything since the process started"
            ) {
                $0.result.map { $0.peakWasReset ? "1" : "0" } ?? ""
            },
            Column(
                name: "process_peak_rss_bytes", kind: .integer(min: 0),
                meaning:
                    "the case's process's peak resident set over its whole life (ru_maxrss), inputs and verification included"
            ) { int($0.result?.processPeakRssBytes) },
            Column(
                name: "saved_bytes", kind: .integer(min: 0),
                meaning:
                    "with a backward pass: the saved O and row log-sum-exp, in place before the timed runs (not in peak_extra_bytes); else empty",
                since: 8
            ) { int($0.result?.savedBytes) },
            Column(
                name: "gradient_bytes", kind: .integer(min: 0),
                meaning:
                    "with a backward pass: dQ, dK, dV and dO, in place before the timed runs (not in peak_extra_bytes); else empty",
                since: 8
            ) { int($0.result?.gradientBytes) },
            Column(
                name: "predicted_extra_bytes", kind: .integer(min: 0),
                meaning: "the strategy's own prediction of its working memory"
            ) { int($0.predictedExtraBytes) },
            Column(
                name: "max_abs_error", kind: .number(min: 0),
                meaning: "max |output − float64 reference| over the verified rows"
            ) { number($0.result?.verification?.maxAbsoluteError) },
            Column(
                name: "rel_frobenius_error", kind: .number(min: 0),
                meaning: "‖output − reference‖_F / ‖reference‖_F over the verified rows"
            ) { number($0.result?.verification?.relativeFrobeniusError) },
            Column(
                name: "max_abs_reference", kind: .number(min: 0),
                meaning:
                    "max |reference| over the verified rows: a half-precision output's absolute tolerance is 1e-4 + u·this",
                since: 7
            ) { number($0.result?.verification?.maxReference) },
            Column(
                name: "storage_rel_error", kind: .number(min: 0),
                meaning:
                    "f16/bf16: ‖output − r₃₂‖_F / ‖r₃₂‖_F against the float64 reference of the unrounded float32 problem, what the precision costs; empty for f32 and --inputs",
                since: 7
            ) { number($0.result?.verification?.storageRelativeError) },
            Column(
                name: "rounding_rel_error", kind: .number(min: 0),
                meaning:
                    "f16/bf16: the same for the float64 reference of the rounded inputs, what rounding Q, K and V alone costs (storage_rel_error should be within 2× of it)",
                since: 7
            ) { number($0.result?.verification?.roundingRelativeError) },
            Column(
                name: "verified_rows", kind: .integer(min: 0),
                meaning: "query rows compared with the reference (all, or the documented sample)"
            ) { int($0.result?.verification?.checkedRows) },
            Column(
                name: "blas_core", kind: .text,
                meaning:
                    "OpenBLAS kernels the case ran with; for a peer, its library's own (torch: mkl, AVX512)"
            ) {
                $0.result?.blas.core ?? ""
            },
            Column(
                name: "other_cpu_pct", kind: .number(min: 0),
                meaning:
                    "CPU time of other processes while the case ran, % of the machine (wall time × CPUs), from /proc/stat",
                since: 2
            ) {
                number($0.interference?.otherCPUPercent)
            },
            Column(
                name: "steal_pct", kind: .number(min: 0),
                meaning: "hypervisor steal time while the case ran, % of the machine", since: 2
            ) {
                number($0.interference?.stealPercent)
            },
            Column(
                name: "disturbed", kind: .flag,
                meaning:
                    "1 when other_cpu_pct > \(Int(Interference.otherCPUThresholdPercent)) or steal_pct > \(Int(Interference.stealThresholdPercent)) (the time may be slow for reasons outside the case), or when fraction_of_bandwidth or fraction_of_peak exceeds 1 by more than the sweep's measurements of that roof disagree (the roof moved; the reason says how); compare says so",
                since: 2
            ) {
                $0.interference == nil && $0.roofNote == nil ? "" : ($0.isDisturbed ? "1" : "0")
            },
            Column(name: "seed", kind: .seed, meaning: "input seed") { "\($0.seed)" },
            Column(name: "finished_at", kind: .text, meaning: "UTC time the row was written (ISO 8601)") {
                ISO8601DateFormatter().string(from: $0.finishedAt)
            },
            Column(
                name: "machine", kind: .text,
                meaning:
                    "where the row was measured, in a report that merge --allow-mixed joined from different machines or builds: CPU model · BLAS core · default kernel · commit; empty otherwise",
                since: 5
            ) { _ in "" },
        ]

    /// The column table of docs/report-columns.md.
    public static func markdownTable() -> String {
        "| column | meaning |\n| --- | --- |\n"
            + columns.map { "| `\($0.name)` | \($0.meaning) |" }.joined(separator: "\n")
    }
}
