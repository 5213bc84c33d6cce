import Attention
import Foundation

/// Runs a ``SweepPlan``: admits or skips each case, runs it (in a child
/// process by default), verifies it, and appends its row to the report as
/// soon as it ends.
public final class SweepRunner {
    public let plan: SweepPlan
    public let outputPath: String
    public let resume: Bool
    public let inProcess: Bool
    /// The program re-invoked for each case (this executable).
    public let executable: String
    /// Edge of the square `cblas_sgemm` used for calibration (2048 in reports;
    /// tests use less).
    public let calibrationSize: Int
    let progress: ProgressReporter

    public init(plan: SweepPlan, outputPath: String, resume: Bool, inProcess: Bool,
                executable: String = ChildProcess.currentExecutable, calibrationSize: Int = 2048) {
        self.calibrationSize = calibrationSize
        self.plan = plan
        self.outputPath = outputPath
        self.resume = resume
        self.inProcess = inProcess
        self.executable = executable
        self.progress = ProgressReporter()
    }

    public enum SweepError: Error, CustomStringConvertible {
        case existingReport(path: String, rows: Int)
        public var description: String {
            switch self {
            case let .existingReport(path, rows):
                return "--out \(path) already holds \(rows) rows; pass --resume to continue it, or choose another --out"
            }
        }
    }

    /// The path of the JSON environment file beside a CSV.
    public static func environmentPath(forReport path: String) -> String {
        (path.hasSuffix(".csv") ? String(path.dropLast(4)) : path) + ".json"
    }

    /// Runs every case and returns the records written in this run.
    @discardableResult
    public func run() throws -> [SweepRecord] {
        let cases = try plan.cases()
        var finished = Set<CaseKey>()
        if FileManager.default.fileExists(atPath: outputPath) {
            let existing = try ReportFile(path: outputPath)
            if !existing.rows.isEmpty && !resume { throw SweepError.existingReport(path: outputPath, rows: existing.rows.count) }
            finished = Set(existing.rows.compactMap(ReportFile.key(of:)))
        }
        let writer = try ReportWriter(path: outputPath)
        var environment = EnvironmentReport.capture(threads: plan.threads, memoryLimitBytes: plan.memoryLimitBytes,
                                                    timeoutSeconds: plan.timeoutSeconds)
        let envPath = Self.environmentPath(forReport: outputPath)
        progress.note("calibrating: cblas_sgemm 2048³ on \(plan.threads) thread(s)")
        let sgemm = GEMMCalibration.sgemmRate(size: calibrationSize, threads: plan.threads)
        environment.sgemmGflopsStart = sgemm
        try environment.write(to: envPath)
        progress.note(String(format: "sgemm %.1f GFLOP/s; %d cases, writing %@", sgemm, cases.count, outputPath))

        // Each case is admitted once (resolving its mask can mean building a layout);
        // resumed cases need nothing.
        let keys = cases.map(CaseKey.init)
        let admissions = zip(cases, keys).map { finished.contains($1) ? nil : plan.admit($0) }
        progress.caseWork = zip(cases, admissions).map { c, admitted in
            guard let (admission, resolved, _) = admitted, case .run = admission, let mask = resolved else { return 0 }
            return TimeModel.computedFlops(c, mask: mask) * Double(c.repetitions.warmup + 1 + c.repetitions.minReps)
                + 1e8    // process start-up and input generation
        }
        var records: [SweepRecord] = []
        var timings = TimeModel()
        for (index, (config, key)) in zip(cases, keys).enumerated() {
            guard let admitted = admissions[index] else {
                progress.caseDone(index + 1, of: cases.count, key: key, status: "already in the report")
                continue
            }
            progress.caseStarted(index + 1, of: cases.count, key: key)
            let record = runCase(config, key: key, admitted: admitted, sgemm: sgemm, timings: &timings)
            try writer.append(record)
            records.append(record)
            progress.caseDone(index + 1, of: cases.count, key: key, status: describe(record))
        }
        environment.sgemmGflopsEnd = GEMMCalibration.sgemmRate(size: calibrationSize, threads: plan.threads)
        environment.finishedAt = Date()
        try environment.write(to: envPath)
        progress.finish()
        return records
    }

    func runCase(_ config: CaseConfig, key: CaseKey, admitted: (CaseAdmission, AttentionMask?, Int?), sgemm: Double,
                 timings: inout TimeModel) -> SweepRecord {
        let inputBytes = config.shape.tensorBytes
        func record(_ status: CaseStatus, _ reason: String, result: CaseResult? = nil, mask: AttentionMask? = nil,
                    predicted: Int? = nil) -> SweepRecord {
            SweepRecord(key: key, status: status, reason: reason, result: result, predictedExtraBytes: predicted,
                        inputBytes: inputBytes, density: mask?.density, attendedPairs: mask?.attendedPairs,
                        sgemmGflops: sgemm, seed: config.seed)
        }
        let (admission, mask, predicted) = admitted
        switch admission {
        case .unsupported(let why): return record(.unsupported, why)
        case .invalid(let why): return record(.failed, why)
        case .skipped(let why): return record(.skipped, why, mask: mask, predicted: predicted)
        case .run: break
        }
        let runs = Double(config.repetitions.warmup + 1 + config.repetitions.minReps)
        if let estimate = timings.predictMs(config, mask: mask!), estimate.ms * runs / 1e3 > plan.timeoutSeconds {
            return record(.skipped, String(format: "predicted %.0f s for %d runs (extrapolated from N=%d) exceeds --timeout %.0f s",
                                           estimate.ms * runs / 1e3, Int(runs), estimate.from, plan.timeoutSeconds),
                          mask: mask, predicted: predicted)
        }
        // No shorter length measured yet: a lower bound, every computed FLOP at the sgemm rate.
        let floorSeconds = TimeModel.computedFlops(config, mask: mask!) / (sgemm * 1e9) * runs
        if floorSeconds > plan.timeoutSeconds {
            return record(.skipped, String(format: "needs at least %.0f s for %d runs even at the sgemm rate; exceeds --timeout %.0f s",
                                           floorSeconds, Int(runs), plan.timeoutSeconds),
                          mask: mask, predicted: predicted)
        }

        let result: CaseResult
        if inProcess {
            do { result = try CaseRunner.run(config) } catch { return record(.failed, "\(error)", mask: mask, predicted: predicted) }
        } else {
            switch ChildProcess.run(executable: executable, arguments: Self.childArguments(config), timeout: plan.timeoutSeconds) {
            case .launchFailed(let why):
                return record(.failed, "could not start the child process: \(why)", mask: mask, predicted: predicted)
            case .timedOut(let seconds):
                return record(.timeout, String(format: "killed after --timeout %.0f s", seconds), mask: mask, predicted: predicted)
            case let .signaled(signal, stderr):
                let hint = signal == SIGKILL ? " (the kernel's out-of-memory killer sends this)" : ""
                return record(.failed, "killed by signal \(signal)\(hint)" + Self.lastLine(stderr, prefix: ": "),
                              mask: mask, predicted: predicted)
            case let .finished(status, stdout, stderr):
                guard let decoded = try? JSONDecoder().decode(CaseResult.self, from: Data(stdout.utf8)) else {
                    return record(.failed, "exit status \(status)" + Self.lastLine(stderr, prefix: ": "), mask: mask, predicted: predicted)
                }
                result = decoded
            }
        }
        timings.record(config, mask: mask!, medianMs: result.statistics.median)
        if let v = result.verification, !v.passes {
            return record(.wrong, String(format: "max abs error %.3g (tolerance %.0e), rel Frobenius %.3g (tolerance %.0e) over %@",
                                         v.maxAbsoluteError, VerificationResult.absoluteTolerance,
                                         v.relativeFrobeniusError, VerificationResult.relativeTolerance, v.coverage),
                          result: result, mask: mask)
        }
        return record(.ok, "", result: result, mask: mask)
    }

    /// The `attnbench run` arguments that reproduce `config` in a child.
    public static func childArguments(_ c: CaseConfig) -> [String] {
        var args = ["run", "--strategy", c.strategy, "--seq-len", "\(c.shape.queryLength)",
                    "--kv-len", "\(c.shape.keyLength)", "--batch", "\(c.shape.batch)", "--heads", "\(c.shape.heads)",
                    "--kv-heads", "\(c.shape.kvHeads)", "--head-dim", "\(c.shape.headDim)", "--pattern", c.pattern,
                    "--threads", "\(c.threads)", "--seed", "\(c.seed)", "--warmup", "\(c.repetitions.warmup)",
                    "--min-reps", "\(c.repetitions.minReps)", "--max-reps", "\(c.repetitions.maxReps)",
                    "--min-time", "\(c.repetitions.minTime)", "--format", "json"]
        if c.verify { args.append("--verify") }
        if let t = c.tile { args += ["--tile", t] }
        return args
    }

    static func lastLine(_ text: String, prefix: String) -> String {
        guard let line = text.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else { return "" }
        return prefix + line.replacingOccurrences(of: "attnbench: error: ", with: "")
    }

    func describe(_ r: SweepRecord) -> String {
        switch r.status {
        case .ok, .wrong:
            let m = r.result!
            return String(format: "%@ %.2f ms, %.1f GFLOP/s, peak extra %@", r.status == .ok ? "ok" : "WRONG",
                          m.statistics.median, m.usefulGflops, Bytes.format(m.peakExtraBytes))
        default: return "\(r.status.rawValue): \(r.reason)"
        }
    }
}

/// Extrapolates a case's time from the same strategy and pattern at the
/// largest shorter length already measured in this sweep, in proportion to
/// the pairs the strategy computes (all Nq·Nk for dense, the attended ones
/// otherwise). Used only to skip cases that could not finish in time.
struct TimeModel {
    private var last: [String: (work: Double, ms: Double, n: Int)] = [:]

    private func family(_ c: CaseConfig) -> String {
        "\(c.strategy)|\(c.pattern)|\(c.shape.batch)|\(c.shape.heads)|\(c.shape.kvHeads)|\(c.shape.headDim)|\(c.threads)|\(c.tile ?? "")"
    }

    private func work(_ c: CaseConfig, _ mask: AttentionMask) -> Double { max(1, Self.computedFlops(c, mask: mask)) }

    /// FLOPs a case computes per forward pass: 4·B·H·d per pair, over all
    /// Nq·Nk pairs for dense (it computes masked pairs too) and over the
    /// attended pairs for the others.
    static func computedFlops(_ c: CaseConfig, mask: AttentionMask) -> Double {
        let pairs = c.strategy == "dense" ? Double(c.shape.queryLength) * Double(c.shape.keyLength) : Double(mask.attendedPairs)
        return 4 * Double(c.shape.batch * c.shape.heads * c.shape.headDim) * pairs
    }

    func predictMs(_ c: CaseConfig, mask: AttentionMask) -> (ms: Double, from: Int)? {
        guard let l = last[family(c)], l.n < c.shape.queryLength else { return nil }
        return (l.ms * work(c, mask) / l.work, l.n)
    }

    mutating func record(_ c: CaseConfig, mask: AttentionMask, medianMs: Double) {
        last[family(c)] = (work(c, mask), medianMs, c.shape.queryLength)
    }
}
