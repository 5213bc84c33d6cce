import Attention
import Foundation

/// Runs a ``SweepPlan``: admits or skips each case, runs it (in a child
/// process by default), verifies it, and appends its row to the report as
/// soon as it ends.
///
/// Calibration: `cblas_sgemm` is measured carefully at the start and the end
/// and once, cheaply, before every case that runs (``CalibrationLog``); each
/// row records the reference rate and the check just before it, and how
/// busy the machine was elsewhere while it ran (``Interference``). The
/// streaming read bandwidth is measured at the start and the end and
/// quickly before every case (``BandwidthLog``): the memory roof of each
/// row's roofline columns is the check next to it. The compute roof is the
/// measured peak of the FMA its kernel uses (``PeakCalibration``, start and
/// end; ``PeakLog``).
public final class SweepRunner {
    public let plan: SweepPlan
    public let outputPath: String
    public let resume: Bool
    public let executor: CaseExecutor
    /// The part of the grid this run measures (`--shard K/N`), or nil for all of it.
    public let shard: SweepShard?
    /// Edge of the square `cblas_sgemm` used for calibration (2048 in reports;
    /// tests use less).
    public let calibrationSize: Int
    /// Bytes of the streaming read (``BandwidthCalibration/defaultBytes`` in
    /// reports; tests use less).
    public let bandwidthBytes: Int
    let progress: ProgressReporter

    public init(
        plan: SweepPlan, outputPath: String, resume: Bool, inProcess: Bool,
        executable: String = ChildProcess.currentExecutable, calibrationSize: Int = 2048,
        bandwidthBytes: Int = BandwidthCalibration.defaultBytes, shard: SweepShard? = nil
    ) {
        self.shard = shard
        self.calibrationSize = calibrationSize
        self.bandwidthBytes = bandwidthBytes
        self.plan = plan
        self.outputPath = outputPath
        self.resume = resume
        self.executor = CaseExecutor(executable: executable, inProcess: inProcess, timeout: plan.timeoutSeconds)
        self.progress = ProgressReporter()
    }

    public enum SweepError: Error, CustomStringConvertible {
        case existingReport(path: String, rows: Int)
        /// `--resume` of a shard's report with another grid or shard: its
        /// rows would no longer be one shard's, and it could not be merged.
        case otherShard(path: String, differences: [String])
        public var description: String {
            switch self {
            case .existingReport(let path, let rows):
                return "--out \(path) already holds \(rows) rows; pass --resume to continue it, or choose another --out"
            case .otherShard(let path, let differences):
                return
                    "--resume: \(path) is a shard of another grid (\(differences.joined(separator: "; "))); resume it with the command that started it, or choose another --out"
            }
        }
    }

    /// Small calibrations (sgemm 256³, a 64 MiB read) when
    /// `ATTNBENCH_QUICK_CALIBRATION=1`: for the command-line tests, whose
    /// sweeps would otherwise spend most of their time calibrating. The
    /// progress output names the sizes; such a report's roofs are rough.
    public static var quickCalibration: (size: Int, bytes: Int)? {
        ProcessInfo.processInfo.environment["ATTNBENCH_QUICK_CALIBRATION"] == "1" ? (256, 64 << 20) : nil
    }

    /// The path of the JSON environment file beside a CSV.
    public static func environmentPath(forReport path: String) -> String {
        (path.hasSuffix(".csv") ? String(path.dropLast(4)) : path) + ".json"
    }

    /// Every calibration warning of the last ``run()``: the compute peak,
    /// sgemm and the read bandwidth, each when its measurements disagreed.
    public private(set) var warnings: [String] = []

    /// Runs every case and returns the records written in this run.
    @discardableResult
    public func run() throws -> [SweepRecord] {
        let cases: [CaseConfig]
        var shardTotals: [Double]?
        if let shard {
            (cases, _, shardTotals) = try plan.cases(in: shard)
        } else {
            cases = try plan.cases()
        }
        let envPath = Self.environmentPath(forReport: outputPath)
        // Both paths are checked before anything is written: a .json that
        // cannot be written must not leave a header-only CSV behind.
        try OutputFile.checkReplaceable(outputPath, createDirectory: true)
        try OutputFile.checkReplaceable(envPath, createDirectory: true)
        let lock = try ReportLock(report: outputPath)
        defer { lock.release() }
        var finished = Set<CaseKey>()
        var earlierRows: [[String: String]] = []
        if FileManager.default.fileExists(atPath: outputPath) {
            let existing = try ReportFile(path: outputPath)
            if !existing.rows.isEmpty && !resume {
                throw SweepError.existingReport(path: outputPath, rows: existing.rows.count)
            }
            finished = Set(existing.rows.compactMap(CaseKey.init(row:)))
            earlierRows = existing.rows
        }
        var environment = EnvironmentReport.capture(
            threads: plan.threads, memoryLimitBytes: plan.memoryLimitBytes,
            timeoutSeconds: plan.timeoutSeconds)
        environment.tuningFile = (try? TuningCache.file(for: TuningSource(flag: plan.tuning)))??.path
        environment.grid = plan.grid
        environment.gridFingerprint = plan.grid.fingerprint
        environment.shard = shard
        environment.shardPredictedSeconds = shardTotals
        if !earlierRows.isEmpty {
            let kept = try EnvironmentReport.runsToKeep(at: envPath)
            if !kept.isEmpty { environment.earlierRuns = kept }
            let earlier = try EnvironmentReport.read(at: envPath)
            try Self.requireSameShard(earlier, plan: plan, shard: shard, report: outputPath)
            // A plain report may be extended by another grid; it lists every grid that wrote it.
            environment.grids = (earlier?.grids ?? earlier?.grid.map { [$0] } ?? []).appendingIfAbsent(plan.grid)
        } else {
            environment.grids = [plan.grid]
        }
        let writer = try ReportWriter(path: outputPath)
        if writer.repairedLineEnd {
            progress.note("note: \(outputPath) lacked a final line end; added one before the new rows")
        }
        progress.note(
            "calibrating: the compute peak, cblas_sgemm \(calibrationSize)³ and a streaming read of \(Bytes.format(bandwidthBytes)) on \(plan.threads) thread(s)"
        )
        let peak = PeakCalibration(threads: plan.threads)
        var peaks = PeakLog(start: peak.full())
        let gemm = GEMMCalibration(size: calibrationSize, threads: plan.threads)
        var calibration = CalibrationLog(start: gemm.full())
        // One read buffer for the whole sweep (4 × the last-level cache, at
        // least 512 MiB), measured carefully at the start and the end and
        // quickly before every case: the bandwidth moves with the host's
        // neighbours, so a memory-bound row is placed against its own check.
        let reader = BandwidthCalibration(bytes: bandwidthBytes, threads: plan.threads)
        var bandwidth = BandwidthLog(start: reader.full())
        environment.record(peaks, threads: plan.threads)
        environment.record(calibration)
        environment.record(bandwidth)
        try environment.write(to: envPath)
        progress.note(
            String(
                format: "peak %@, sgemm %.1f GFLOP/s, read %.1f GB/s; %d cases, writing %@",
                Self.describe(peaks.start), calibration.start, bandwidth.start, cases.count, outputPath)
                + (shard.map { " (shard \($0) of the grid)" } ?? ""))

        // Each case is admitted once (resolving its mask can mean building a layout);
        // resumed cases need nothing.
        let keys = cases.map(CaseKey.init)
        let admissions = zip(cases, keys).map { finished.contains($1) ? nil : plan.admit($0) }
        progress.caseWork = zip(cases, admissions).map { c, admitted in
            guard let (admission, resolved, _) = admitted, case .run = admission, let mask = resolved else { return 0 }
            return CaseCost.seconds(c, mask: mask)
        }
        var records: [SweepRecord] = []
        var timings = TimeModel()
        for (index, (config, key)) in zip(cases, keys).enumerated() {
            guard let admitted = admissions[index] else {
                progress.caseDone(index + 1, of: cases.count, key: key, status: "already in the report")
                continue
            }
            progress.caseStarted(index + 1, of: cases.count, key: key)
            var record: SweepRecord
            switch CasePreflight.check(
                config, key: key, admitted: admitted, plan: plan, timings: timings,
                sgemm: calibration.reference)
            {
            case .settled(let r):
                record = r
            case .run(let mask, let predicted):
                let local = gemm.quick()
                calibration.checks.append(local)
                let localBandwidth = reader.quick()
                bandwidth.checks.append(localBandwidth)
                let (outcome, interference) = executor.execute(config)
                record = SweepRecord(
                    config, key: key, outcome: outcome, mask: mask, predicted: predicted,
                    sgemm: calibration.reference, sgemmLocal: local, interference: interference)
                record.readBandwidthLocalGBps = localBandwidth
                record.placeAgainst(
                    peaks: peaks.reference, peakSpread: peaks.spread, bandwidth: bandwidth.reference,
                    bandwidthSpread: bandwidth.spread)
                if let result = record.result { timings.record(config, mask: mask, medianMs: result.statistics.median) }
            }
            try writer.append(record)
            records.append(record)
            progress.caseDone(index + 1, of: cases.count, key: key, status: Self.describe(record))
        }
        calibration.end = gemm.full()
        bandwidth.end = reader.full()
        peaks.end = peak.full()
        let warnings = [peaks.warning, calibration.warning, bandwidth.warning].compactMap { $0 }
        for warning in warnings { progress.note("warning: \(warning)") }
        self.warnings = warnings
        // Every row of this run gets the final reference rates (rows of an
        // earlier, resumed run keep theirs), and is placed against them.
        for i in records.indices {
            records[i].sgemmGflops = calibration.reference
            records[i].placeAgainst(
                peaks: peaks.reference, peakSpread: peaks.spread, bandwidth: bandwidth.reference,
                bandwidthSpread: bandwidth.spread)
            if let note = records[i].roofNote ?? records[i].cacheNote, records[i].status == .ok {
                records[i].reason = note
            }
        }
        try ReportWriter.rewrite(
            path: outputPath,
            rows: earlierRows.map { row in ReportSchema.header.map { row[$0] ?? "" } }
                + records.map(ReportSchema.cells))
        environment.record(peaks, threads: plan.threads)
        environment.record(calibration)
        environment.record(bandwidth)
        environment.disturbedCases = records.filter(\.isDisturbed).count
        environment.finishedAt = Date()
        try environment.write(to: envPath)
        progress.finish()
        return records
    }

    /// Throws ``SweepError/otherShard(path:differences:)`` when a shard's
    /// report (or a plain report, by a shard run) is resumed with another
    /// grid or shard, naming what differs.
    static func requireSameShard(
        _ earlier: EnvironmentReport?, plan: SweepPlan, shard: SweepShard?, report: String
    ) throws {
        guard let earlier, earlier.shard != nil || shard != nil else { return }
        var differences: [String] = []
        if earlier.shard != shard {
            differences.append("shard \(earlier.shard?.description ?? "none") vs \(shard?.description ?? "none")")
        }
        if let grid = earlier.grid {
            differences += grid.differences(from: plan.grid)
        } else if earlier.gridFingerprint != plan.grid.fingerprint {
            differences.append("grid fingerprint \(earlier.gridFingerprint ?? "none") vs \(plan.grid.fingerprint)")
        }
        if !differences.isEmpty { throw SweepError.otherShard(path: report, differences: differences) }
    }

    /// `fma-512 470.1, fma-256 236.0, …` GFLOP/s.
    static func describe(_ peaks: [PeakInstruction: Double]) -> String {
        peaks.keys.sorted().map { String(format: "%@ %.1f", $0.rawValue, peaks[$0]!) }.joined(separator: ", ")
    }

    /// One line on how a case ended, for the progress output.
    static func describe(_ r: SweepRecord) -> String {
        switch r.status {
        case .ok, .wrong:
            let m = r.result!
            let disturbed =
                (r.interference.map { $0.isDisturbed ? " [disturbed: \($0.summary)]" : "" } ?? "")
                + (r.roofNote.map { " [disturbed: \($0)]" } ?? "") + (r.cacheNote.map { " [\($0)]" } ?? "")
            return String(
                format: "%@ %.2f ms, %.1f GFLOP/s, peak extra %@", r.status == .ok ? "ok" : "WRONG",
                m.statistics.median, m.usefulGflops, Bytes.format(m.peakExtraBytes)) + disturbed
        default: return "\(r.status.rawValue): \(r.reason)"
        }
    }
}

extension Array where Element: Equatable {
    fileprivate func appendingIfAbsent(_ e: Element) -> [Element] { contains(e) ? self : self + [e] }
}

/// What is decided about a case before anything runs: its admission by the
/// plan, then the time budget.
enum CasePreflight {
    enum Decision {
        /// The case ends here (unsupported, invalid or skipped) with this row.
        case settled(SweepRecord)
        /// The case runs; its resolved mask and predicted working memory.
        case run(mask: AttentionMask, predicted: Int?)
    }

    static func check(
        _ config: CaseConfig, key: CaseKey, admitted: (CaseAdmission, AttentionMask?, Int?),
        plan: SweepPlan, timings: TimeModel, sgemm: Double
    ) -> Decision {
        let (admission, resolved, predicted) = admitted
        func settle(_ status: CaseStatus, _ reason: String) -> Decision {
            .settled(
                SweepRecord(
                    key: key, status: status, reason: reason, predictedExtraBytes: predicted,
                    inputBytes: config.shape.tensorBytes(config.precision), density: resolved?.density,
                    attendedPairs: resolved?.attendedPairs, sgemmGflops: sgemm, seed: config.seed))
        }
        switch admission {
        case .unsupported(let why): return settle(.unsupported, why)
        case .invalid(let why): return settle(.failed, why)
        case .skipped(let why): return settle(.skipped, why)
        case .run: break
        }
        let mask = resolved!
        let runs = Double(config.repetitions.warmup + 1 + config.repetitions.minReps)
        if let estimate = timings.predictMs(config, mask: mask), estimate.ms * runs / 1e3 > plan.timeoutSeconds {
            return settle(
                .skipped,
                String(
                    format: "predicted %.0f s for %d runs (extrapolated from %@) exceeds --timeout %g s",
                    estimate.ms * runs / 1e3, Int(runs), estimate.from, plan.timeoutSeconds))
        }
        // No shorter length measured yet: a lower bound, every computed FLOP at the sgemm rate.
        let floorSeconds = TimeModel.computedFlops(config, mask: mask) / (sgemm * 1e9) * runs
        if floorSeconds > plan.timeoutSeconds {
            return settle(
                .skipped,
                String(
                    format: "needs at least %.2g s for %d runs even at the sgemm rate; exceeds --timeout %g s",
                    floorSeconds, Int(runs), plan.timeoutSeconds))
        }
        return .run(mask: mask, predicted: predicted)
    }
}

extension SweepRecord {
    /// Why a verified case is `wrong`.
    static func wrongReason(_ v: VerificationResult) -> String {
        if let n = v.nonFiniteOutputs, n > 0 { return VerificationResult.nonFiniteReason(n) }
        return String(
            format: "max abs error %.3g (tolerance %.2g), rel Frobenius %.3g (tolerance %.2g) over %@",
            v.maxAbsoluteError, v.absoluteLimit, v.relativeFrobeniusError, v.relativeLimit, v.coverage)
    }

    /// The row of a case that ran: `ok`, `wrong` (over tolerance), `failed`
    /// or `timeout`.
    init(
        _ config: CaseConfig, key: CaseKey, outcome: CaseExecutor.Outcome, mask: AttentionMask, predicted: Int?,
        sgemm: Double, sgemmLocal: Double?, interference: Interference?
    ) {
        let status: CaseStatus
        var reason = ""
        var result: CaseResult?
        switch outcome {
        case .failed(let why):
            status = .failed
            reason = why
        case .timedOut(let why):
            status = .timeout
            reason = why
        case .unsupported(let why):
            status = .unsupported
            reason = why
        case .measured(let r):
            result = r
            if let v = r.verification, !v.passes {
                status = .wrong
                reason = Self.wrongReason(v)
            } else {
                status = .ok
            }
        }
        self.init(
            key: key, status: status, reason: reason, result: result,
            predictedExtraBytes: result == nil ? predicted : nil,
            inputBytes: config.shape.tensorBytes(config.precision),
            density: mask.density, attendedPairs: mask.attendedPairs, sgemmGflops: sgemm,
            sgemmLocalGflops: sgemmLocal, interference: interference, seed: config.seed)
    }
}

/// Extrapolates a case's time from the same strategy and pattern at the
/// largest shorter length already measured in this sweep, in proportion to
/// the pairs the strategy computes (all Nq·Nk for dense, the attended ones
/// otherwise). Used only to skip cases that could not finish in time.
struct TimeModel {
    private var last: [CaseKey: (work: Double, ms: Double, size: Int, lengths: String)] = [:]

    /// The case's key without its lengths: every axis but the two that grow.
    private func family(_ c: CaseConfig) -> CaseKey {
        var key = CaseKey(c)
        (key.seqLen, key.kvLen) = (0, 0)
        return key
    }

    private func work(_ c: CaseConfig, _ mask: AttentionMask) -> Double { max(1, Self.computedFlops(c, mask: mask)) }

    /// FLOPs a case computes per forward pass: 4·B·H·d per pair the
    /// strategy computes (``AttentionStrategy/computedPairs(_:)``: the
    /// attended pairs, or all Nq·Nk for a strategy that computes masked
    /// pairs too).
    static func computedFlops(_ c: CaseConfig, mask: AttentionMask) -> Double {
        let pairs =
            (try? StrategyRegistry.strategy(named: c.strategy))?.computedPairs(mask)
            ?? PeerRegistry.peer(named: c.strategy)?.computedPairs(mask) ?? mask.attendedPairs
        return flops(c.shape, pairs: pairs)
    }

    /// 4·B·H·d FLOPs per computed (query, key) pair.
    static func flops(_ s: AttentionShape, pairs: Int) -> Double {
        4 * Double(s.batch * s.heads * s.headDim) * Double(pairs)
    }

    /// The predicted time, and the lengths of the case it is extrapolated from (`N=4096`, `Nq=1 Nk=8192`).
    func predictMs(_ c: CaseConfig, mask: AttentionMask) -> (ms: Double, from: String)? {
        guard let l = last[family(c)], l.size < Self.size(c) else { return nil }
        return (l.ms * work(c, mask) / l.work, l.lengths)
    }

    mutating func record(_ c: CaseConfig, mask: AttentionMask, medianMs: Double) {
        let nq = c.shape.queryLength, nk = c.shape.keyLength
        last[family(c)] = (work(c, mask), medianMs, Self.size(c), nq == nk ? "N=\(nq)" : "Nq=\(nq) Nk=\(nk)")
    }

    /// What "shorter" means between two cases of a family: Nq·Nk, so that
    /// decode cases (one Nq, growing Nk) extrapolate as prefill ones do.
    static func size(_ c: CaseConfig) -> Int { c.shape.queryLength * c.shape.keyLength }
}
