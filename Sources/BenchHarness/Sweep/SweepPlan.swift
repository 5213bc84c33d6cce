import Attention
import Foundation

/// A sweep: its grid (the cases, and how each is run), the tuning file its
/// cases read, and the budgets a case must fit. The grid's fields read as
/// the plan's own (`plan.seqLens`).
@dynamicMemberLookup
public struct SweepPlan: Sendable {
    public var grid: SweepGrid
    /// `--tuning` for every case: a file, `none`, or nil for the default location.
    public var tuning: String?
    /// A case whose predicted peak resident set exceeds this is skipped.
    public var memoryLimitBytes: Int
    /// Seconds a case may run; also the budget for predicted time.
    public var timeoutSeconds: Double

    public init(grid: SweepGrid, tuning: String? = nil, memoryLimitBytes: Int, timeoutSeconds: Double) {
        self.grid = grid
        self.tuning = tuning
        self.memoryLimitBytes = memoryLimitBytes
        self.timeoutSeconds = timeoutSeconds
    }

    public subscript<Value>(dynamicMember path: WritableKeyPath<SweepGrid, Value>) -> Value {
        get { grid[keyPath: path] }
        set { grid[keyPath: path] = newValue }
    }

    /// Resident memory of the process itself (runtime, OpenBLAS, code),
    /// added to every case's prediction (docs/DECISIONS.md).
    public static let processOverheadBytes = 64 << 20

    /// The grid's cases in run order (``SweepGrid/cases(tuning:)``).
    public func cases() throws -> [CaseConfig] { try grid.cases(tuning: tuning) }

    /// Parses `512,1024,4096` or a doubling range `512:65536`.
    public static func parseLengths(_ text: String) -> [Int]? {
        if text.contains(":") {
            let parts = text.split(separator: ":").map { Int($0) }
            guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo >= 1, hi >= lo else { return nil }
            return Array(sequence(first: lo) { $0 <= hi / 2 ? $0 * 2 : nil })
        }
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return values.map { $0! }
    }
}

/// What the planner decides for a case before running it.
public enum CaseAdmission: Equatable, Sendable {
    case run(predictedPeakBytes: Int)
    case unsupported(String)
    case skipped(String)
    case invalid(String)
}

extension SweepPlan {
    /// Whether `config` can run: the strategy must support the pattern, and
    /// its predicted peak (inputs + predicted extra + process overhead) must
    /// fit in the memory limit.
    public func admit(_ config: CaseConfig) -> (CaseAdmission, AttentionMask?, Int?) {
        if let peer = PeerRegistry.peer(named: config.strategy) { return admit(config, peer: peer) }
        let strategy: any AttentionStrategy
        let mask: AttentionMask
        // Inputs and the mask's bound first: resolving a mask that cannot fit
        // would trap, or take minutes, before the check below.
        if let pattern = try? MaskPattern(parsing: config.pattern),
            (try? StrategyRegistry.strategy(named: config.strategy))?.supports(pattern) == true,
            let skip = earlySkip(pattern, config, processOverhead: Self.processOverheadBytes)
        {
            return (skip, nil, nil)
        }
        do {
            (strategy, mask) = try CaseRunner.prepare(config)
        } catch let AttentionError.unsupportedPattern(name, _, supported) {
            return (.unsupported("\(name) supports \(supported)"), nil, nil)
        } catch {
            return (.invalid("\(error)"), nil, nil)
        }
        if config.pass.hasBackward, let why = strategy.backwardUnavailability(precision: config.precision) {
            return (.unsupported("\(strategy.name) has no backward pass here: \(why)"), nil, nil)
        }
        let extra = CaseRunner.predictedExtraBytes(strategy, config, mask: mask)
        // The backward's saved tensors and gradients are resident beside the inputs.
        let (held, overflow) = extra.addingReportingOverflow(CaseRunner.trainingBytes(config))
        return (
            admission(config, extra: overflow ? .max : held, processOverhead: Self.processOverheadBytes), mask, extra
        )
    }

    /// `skipped` when the inputs and the mask's bound alone exceed the
    /// memory limit (checked before resolving a mask that cannot fit),
    /// else nil.
    func earlySkip(_ pattern: MaskPattern, _ config: CaseConfig, processOverhead: Int) -> CaseAdmission? {
        let early = CaseRunner.bytesBeforeResolving(pattern, shape: config.shape, precision: config.precision)
        guard early.mask > 0, early.total > memoryLimitBytes - processOverhead else { return nil }
        return .skipped(
            "inputs and mask alone need more than \(Bytes.format(early.total)), over --memory-limit \(Bytes.format(memoryLimitBytes))"
        )
    }

    /// `run` with the predicted peak (inputs + `extra` + the process's
    /// overhead, saturating), or `skipped` when it exceeds the memory limit.
    func admission(_ config: CaseConfig, extra: Int, processOverhead: Int) -> CaseAdmission {
        let (sum, overflow) = config.shape.tensorBytes(config.precision).addingReportingOverflow(extra)
        let peak = overflow ? Int.max : min(Int.max - processOverhead, sum) + processOverhead
        guard peak <= memoryLimitBytes else {
            return .skipped(
                "predicted peak \(Bytes.format(peak)) exceeds --memory-limit \(Bytes.format(memoryLimitBytes))")
        }
        return .run(predictedPeakBytes: peak)
    }
}

extension SweepPlan {
    /// ``admit(_:)`` for a peer: its pattern families, then whether it is
    /// installed (one probe per process), then the memory limit with the
    /// peer's own process overhead.
    func admit(_ config: CaseConfig, peer: Peer) -> (CaseAdmission, AttentionMask?, Int?) {
        let pattern: MaskPattern
        do { pattern = try MaskPattern(parsing: config.pattern) } catch { return (.invalid("\(error)"), nil, nil) }
        guard peer.supports(pattern) else {
            return (.unsupported("\(peer.name) supports \(peer.supportedKindsDescription)"), nil, nil)
        }
        if let why = peer.unavailability(of: config.pass, precision: config.precision) {
            return (.unsupported(why), nil, nil)
        }
        if case .failure(let why) = PeerRunner.availability(peer) { return (.unsupported(why.description), nil, nil) }
        if let skip = earlySkip(pattern, config, processOverhead: peer.processOverheadBytes) {
            return (skip, nil, nil)
        }
        let mask: AttentionMask
        do { mask = try AttentionMask(pattern, shape: config.shape) } catch { return (.invalid("\(error)"), nil, nil) }
        let extra = peer.predictedExtraBytes(config, mask: mask)
        // The backward's saved tensors and gradients are resident beside the inputs.
        let (held, overflow) = extra.addingReportingOverflow(CaseRunner.trainingBytes(config))
        return (
            admission(config, extra: overflow ? .max : held, processOverhead: peer.processOverheadBytes), mask, extra
        )
    }
}
