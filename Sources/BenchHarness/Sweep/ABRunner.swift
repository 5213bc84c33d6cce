import Attention
import Foundation

/// Measures two builds of attnbench on one grid, side by side, and compares
/// them: the regression gate that does not depend on the machine.
///
/// A committed baseline of numbers only holds on the machine that recorded
/// it; any other CPU, BLAS or load shifts every figure. Here both builds run
/// on the same machine in the same job, **alternating per case**: each case
/// runs in `rounds` rounds, and in each round once per build, each time in
/// its own child process, in the order A B, B A, A B, B A, … (with an even
/// number of rounds a linear drift of the machine's speed falls on both
/// sides alike; the side that starts alternates from case to case). The
/// rounds' times are pooled per side (with the rounds' sizes, so that the
/// test can compare the processes' medians) and the two reports are
/// compared with ``ReportComparison``'s rule.
///
/// Suspect cases are measured again, both sides, up to `retries` times:
/// regressions, changes beyond the threshold that the test did not find
/// significant, verdicts reached while the machine was disturbed
/// (``Interference``), and failures on one side only. The new rounds are
/// pooled with the earlier ones, and the verdict is taken on all of them:
/// a burst of noise in one measurement is outvoted by the rounds around
/// it, and a slowdown that is real gains significance with every round.
/// (A failure is replaced by a later measurement that succeeds.) The note
/// keeps the earlier verdicts.
///
/// The grid's admission (which cases a strategy supports, the memory and
/// time budgets) is decided once, by this process, for both builds.
public final class ABRunner {
    /// One build: the program run as `run … --format json`, a label for the
    /// reports (for example a revision), and the report it gets.
    public struct Side: Sendable {
        public var executable: String
        public var label: String
        public var outputPath: String

        public init(executable: String, label: String, outputPath: String) {
            self.executable = executable
            self.label = label
            self.outputPath = outputPath
        }
    }

    public enum Which: Sendable { case baseline, current }

    /// Runs one case on one side. Replaceable, so tests can stand in for builds.
    public typealias Execute = (CaseConfig, Which) -> (outcome: CaseExecutor.Outcome, interference: Interference?)

    public let plan: SweepPlan
    public let baseline: Side
    public let current: Side
    public let rounds: Int
    public let retries: Int
    public let options: ComparisonOptions
    public let calibrationSize: Int
    let execute: Execute
    let progress = ProgressReporter()

    public enum ABError: Error, CustomStringConvertible {
        case existingReport(String)
        case sideRanNothing(side: String, label: String, reason: String)
        case nothingRan

        public var description: String {
            switch self {
            case .existingReport(let path):
                return "\(path) already exists; A/B reports are written afresh, choose another --out-dir"
            case .sideRanNothing(let side, let label, let reason):
                return "the \(side) build (\(label)) measured no case: \(reason)"
            case .nothingRan:
                return
                    "no case of the grid ran (each was unsupported, invalid or over the memory or time budget): nothing was compared"
            }
        }
    }

    /// A build that fails this many cases in a row, having measured none,
    /// cannot run at all: the run stops there.
    public static let failuresBeforeGivingUp = 3

    public init(
        plan: SweepPlan, baseline: Side, current: Side, rounds: Int = 4, retries: Int = 2,
        options: ComparisonOptions, calibrationSize: Int = 2048, execute: Execute? = nil
    ) {
        self.plan = plan
        self.baseline = baseline
        self.current = current
        self.rounds = max(1, rounds)
        self.retries = max(0, retries)
        self.options = options
        self.calibrationSize = calibrationSize
        if let execute {
            self.execute = execute
        } else {
            let a = CaseExecutor(executable: baseline.executable, inProcess: false, timeout: plan.timeoutSeconds)
            let b = CaseExecutor(executable: current.executable, inProcess: false, timeout: plan.timeoutSeconds)
            self.execute = { config, which in (which == .baseline ? a : b).execute(config) }
        }
    }

    /// What an A/B run found.
    public struct Outcome {
        public var comparison: ComparisonReport
        public var baselineRecords: [SweepRecord]
        public var currentRecords: [SweepRecord]
        /// Earlier verdicts of the cases measured again.
        public var remeasured: [CaseKey: [String]]
        public var calibrationWarning: String?
    }

    /// Runs the grid on both sides, re-measures suspect cases, and compares.
    ///
    /// - Throws: ``ABError/sideRanNothing(side:label:reason:)`` when a build
    ///   measured none of the cases that ran (it could not run at all), and
    ///   the errors of writing the reports.
    public func run() throws -> Outcome {
        for path in [baseline.outputPath, current.outputPath] where FileManager.default.fileExists(atPath: path) {
            throw ABError.existingReport(path)
        }
        let cases = try plan.cases()
        // One writer per report, as for a sweep.
        let locks = try [baseline.outputPath, current.outputPath].map { path in
            try OutputFile.checkReplaceable(path, createDirectory: true)
            return try ReportLock(report: path)
        }
        defer { for lock in locks { lock.release() } }
        let writers = (try ReportWriter(path: baseline.outputPath), try ReportWriter(path: current.outputPath))
        var environment = EnvironmentReport.capture(
            threads: plan.threads, memoryLimitBytes: plan.memoryLimitBytes,
            timeoutSeconds: plan.timeoutSeconds)
        environment.tuningFile = (try? TuningCache.file(for: TuningSource(flag: plan.tuning)))??.path
        progress.note("calibrating: cblas_sgemm \(calibrationSize)³ on \(plan.threads) thread(s)")
        let gemm = GEMMCalibration(size: calibrationSize, threads: plan.threads)
        var calibration = CalibrationLog(start: gemm.full())
        environment.record(calibration)
        try writeEnvironments(environment)
        progress.note(
            String(
                format: "sgemm %.1f GFLOP/s; %d cases × 2 builds × %d rounds: %@ (baseline) vs %@ (current)",
                calibration.start, cases.count, rounds, baseline.label, current.label))

        var baseRecords: [SweepRecord] = [], currentRecords: [SweepRecord] = []
        var ran: [CaseKey: (config: CaseConfig, mask: AttentionMask, predicted: Int?)] = [:]
        var timings = TimeModel()
        for (index, config) in cases.enumerated() {
            let key = CaseKey(config)
            progress.caseStarted(index + 1, of: cases.count, key: key)
            let pair: (SweepRecord, SweepRecord)
            switch CasePreflight.check(
                config, key: key, admitted: plan.admit(config), plan: plan, timings: timings,
                sgemm: calibration.reference)
            {
            case .settled(let r):
                pair = (r, r)
            case .run(let mask, let predicted):
                let local = gemm.quick()
                calibration.checks.append(local)
                pair = measure(
                    config, key: key, mask: mask, predicted: predicted, calibration: calibration, local: local,
                    first: ran.count % 2 == 0 ? .baseline : .current)
                ran[key] = (config, mask, predicted)
                if let m = [pair.0.result, pair.1.result].compactMap({ $0?.statistics.median }).max() {
                    timings.record(config, mask: mask, medianMs: m)
                }
            }
            try writers.0.append(pair.0)
            try writers.1.append(pair.1)
            baseRecords.append(pair.0)
            currentRecords.append(pair.1)
            progress.caseDone(index + 1, of: cases.count, key: key, status: Self.describe(pair.0, pair.1))
            try requireMeasurements(baseRecords, side: "baseline", label: baseline.label, ran: ran, finished: false)
            try requireMeasurements(currentRecords, side: "current", label: current.label, ran: ran, finished: false)
        }
        guard !ran.isEmpty else { throw ABError.nothingRan }
        try requireMeasurements(baseRecords, side: "baseline", label: baseline.label, ran: ran, finished: true)
        try requireMeasurements(currentRecords, side: "current", label: current.label, ran: ran, finished: true)

        // Measure suspect cases again, pooling the new rounds with the earlier ones.
        var comparison = try compare(baseRecords, currentRecords)
        var remeasured: [CaseKey: [String]] = [:]
        for attempt in 1 ... max(1, retries) where retries > 0 {
            let statuses = Dictionary(
                uniqueKeysWithValues: zip(baseRecords, currentRecords).map { ($0.0.key, ($0.0.status, $0.1.status)) })
            let suspects = comparison.cases.filter { c in
                guard ran[c.key] != nil, let (b, cur) = statuses[c.key] else { return false }
                return isSuspect(c, baseline: b, current: cur)
            }
            if suspects.isEmpty { break }
            progress.note("re-measuring \(suspects.count) case(s), attempt \(attempt) of \(retries)")
            for (n, c) in suspects.enumerated() {
                let (config, mask, predicted) = ran[c.key]!
                remeasured[c.key, default: []].append(Self.verdictNote(c))
                let local = gemm.quick()
                calibration.checks.append(local)
                let pair = measure(
                    config, key: c.key, mask: mask, predicted: predicted, calibration: calibration, local: local,
                    first: (n + attempt) % 2 == 0 ? .baseline : .current)
                if let i = baseRecords.firstIndex(where: { $0.key == c.key }) {
                    baseRecords[i] = Self.pooled(baseRecords[i], pair.0)
                }
                if let i = currentRecords.firstIndex(where: { $0.key == c.key }) {
                    currentRecords[i] = Self.pooled(currentRecords[i], pair.1)
                }
                progress.note("\(c.key): \(Self.describe(pair.0, pair.1)) (this measurement)")
            }
            try ReportWriter.rewrite(path: baseline.outputPath, records: baseRecords)
            try ReportWriter.rewrite(path: current.outputPath, records: currentRecords)
            comparison = try compare(baseRecords, currentRecords)
        }
        for i in comparison.cases.indices {
            guard let earlier = remeasured[comparison.cases[i].key] else { continue }
            let note = "re-measured \(earlier.count)×; before: " + earlier.joined(separator: ", ")
            comparison.cases[i].note = comparison.cases[i].note.isEmpty ? note : comparison.cases[i].note + "; " + note
        }

        calibration.end = gemm.full()
        if let warning = calibration.warning { progress.note("warning: \(warning)") }
        // Both reports' rows get the final reference rate.
        for i in baseRecords.indices { baseRecords[i].sgemmGflops = calibration.reference }
        for i in currentRecords.indices { currentRecords[i].sgemmGflops = calibration.reference }
        try ReportWriter.rewrite(path: baseline.outputPath, records: baseRecords)
        try ReportWriter.rewrite(path: current.outputPath, records: currentRecords)
        environment.record(calibration)
        environment.finishedAt = Date()
        try writeEnvironments(environment, baseRecords: baseRecords, currentRecords: currentRecords)
        progress.finish()
        return Outcome(
            comparison: comparison, baselineRecords: baseRecords, currentRecords: currentRecords,
            remeasured: remeasured, calibrationWarning: calibration.warning)
    }

    /// Both sides of one case, in `rounds` alternating rounds, `first`
    /// starting.
    func measure(
        _ config: CaseConfig, key: CaseKey, mask: AttentionMask, predicted: Int?,
        calibration: CalibrationLog, local: Double, first: Which
    ) -> (SweepRecord, SweepRecord) {
        var parts: [Which: [(outcome: CaseExecutor.Outcome, interference: Interference?)]] = [
            .baseline: [], .current: [],
        ]
        let second: Which = first == .baseline ? .current : .baseline
        for round in 0 ..< rounds {
            var roundConfig = config
            roundConfig.repetitions = config.repetitions.split(into: rounds)
            roundConfig.verify = config.verify && round == 0  // once per side is enough
            for which in round % 2 == 0 ? [first, second] : [second, first] {
                if parts[which]!.contains(where: { !$0.outcome.isMeasured }) {
                    continue  // this side failed: running it again tells nothing new
                }
                parts[which]!.append(execute(roundConfig, which))
            }
        }
        func record(_ which: Which) -> SweepRecord {
            let runs = parts[which]!
            var outcome: CaseExecutor.Outcome
            if let failure = runs.first(where: { !$0.outcome.isMeasured }) {
                outcome = failure.outcome
            } else {
                let results = runs.compactMap {
                    if case .measured(let r) = $0.outcome { return r }
                    return nil
                }
                do { outcome = .measured(try CaseResult.merged(results, config: config)) } catch {
                    outcome = .failed("could not merge the rounds: \(error)")
                }
            }
            return SweepRecord(
                config, key: key, outcome: outcome, mask: mask, predicted: predicted,
                sgemm: calibration.reference, sgemmLocal: local,
                interference: Interference.combined(runs.compactMap(\.interference)))
        }
        return (record(.baseline), record(.current))
    }

    /// A case worth measuring again: a regression; a time ratio beyond the
    /// threshold that the test did not find significant (more rounds decide
    /// it); a time verdict other than unchanged reached while either side
    /// was disturbed; or a failure (or timeout) on one side only, which may
    /// have been the machine's.
    func isSuspect(_ c: CaseComparison, baseline: CaseStatus, current: CaseStatus) -> Bool {
        let broken: Set<CaseStatus> = [.failed, .timeout]
        let beyond = c.ratio.map { $0 > 1 + options.threshold || $0 < 1 / (1 + options.threshold) } ?? false
        return c.verdict == .regression || (beyond && c.timeVerdict == .unchanged)
            || (c.disturbed && c.timeVerdict != nil && c.timeVerdict != .unchanged)
            || broken.contains(baseline) != broken.contains(current)
    }

    /// An earlier record of a case and a new measurement of it, as one: the
    /// rounds of both when both were measured, else the newer.
    static func pooled(_ earlier: SweepRecord, _ later: SweepRecord) -> SweepRecord {
        guard let a = earlier.result, let b = later.result,
            let both = try? CaseResult.merged([a, b], config: a.config)
        else { return later }
        var record = later
        record.result = both
        record.interference = Interference.combined([earlier.interference, later.interference].compactMap { $0 })
        if let v = both.verification, !v.passes {
            (record.status, record.reason) = (.wrong, SweepRecord.wrongReason(v))
        } else {
            (record.status, record.reason) = (.ok, "")
        }
        return record
    }

    static func verdictNote(_ c: CaseComparison) -> String {
        var text = c.verdict.rawValue
        if let r = c.ratio { text += String(format: " at ratio %.3f", r) }
        if let p = c.pValue { text += String(format: " (p %.2g)", p) }
        if c.disturbed { text += " while disturbed" }
        return text
    }

    func compare(_ base: [SweepRecord], _ cur: [SweepRecord]) throws -> ComparisonReport {
        try ReportComparison.compare(
            baseline: ReportFile(records: base, path: baseline.outputPath),
            current: ReportFile(records: cur, path: current.outputPath), options: options)
    }

    /// A side that measured none of the cases that ran could not run at all:
    /// checked after every case (giving up after
    /// ``failuresBeforeGivingUp`` failures) and when the grid is done.
    func requireMeasurements(
        _ records: [SweepRecord], side: String, label: String,
        ran: [CaseKey: (config: CaseConfig, mask: AttentionMask, predicted: Int?)],
        finished: Bool
    ) throws {
        let attempted = records.filter { ran[$0.key] != nil }
        guard !attempted.isEmpty, !attempted.contains(where: { $0.result != nil }),
            finished || attempted.count >= Self.failuresBeforeGivingUp
        else { return }
        throw ABError.sideRanNothing(side: side, label: label, reason: attempted[0].reason)
    }

    func writeEnvironments(
        _ environment: EnvironmentReport, baseRecords: [SweepRecord] = [],
        currentRecords: [SweepRecord] = []
    ) throws {
        for (side, records) in [(baseline, baseRecords), (current, currentRecords)] {
            var e = environment
            e.binary = side.executable
            e.label = side.label
            e.gitCommit = nil  // the revision is the label's business: this process may be neither side
            e.gitDirty = nil
            e.disturbedCases = records.filter { $0.interference?.isDisturbed == true }.count
            try e.write(to: SweepRunner.environmentPath(forReport: side.outputPath))
        }
    }

    static func describe(_ a: SweepRecord, _ b: SweepRecord) -> String {
        guard let x = a.result?.statistics.median, let y = b.result?.statistics.median else {
            return a.status == b.status && a.reason == b.reason
                ? "\(a.status.rawValue): \(a.reason)"
                : "baseline \(SweepRunner.describe(a)); current \(SweepRunner.describe(b))"
        }
        let disturbed = [a, b].contains { $0.interference?.isDisturbed == true } ? " [disturbed]" : ""
        return String(format: "baseline %.2f ms, current %.2f ms, ratio %.3f", x, y, y / x) + disturbed
    }
}
