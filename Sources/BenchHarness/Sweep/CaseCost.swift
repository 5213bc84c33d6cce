import Attention
import Foundation

/// The planner's prediction of a case's wall time in a sweep, from what the
/// case computes and the repetition policy alone: the weight that balances
/// shards (``SweepShard``), the time `--dry-run` shows, and the progress
/// line's time-left estimate.
///
/// For a case its strategy computes:
///
///     t_run    = computed FLOPs / (nominal rate × threads)
///     timed    = min(maxReps · t_run, max(minReps · t_run, minTime))
///     seconds  = start-up + inputs + verification + (warmup + 1) · t_run + timed
///
/// where computed FLOPs are 4·B·H·d per pair the strategy computes (all
/// Nq·Nk for `dense` and `torch-math`, the attended ones otherwise), the
/// `+ 1` is the verification run, inputs cost ``secondsPerInputElement``
/// per generated element, and verification is the float64 reference's
/// multiply-adds (all rows, or the sample of ``Verification``) at
/// ``referenceMACsPerSecond``. A pattern the strategy does not compute
/// costs nothing.
///
/// The prediction depends on nothing measured, so every machine computes
/// the same figures for the same grid: shards agree on who runs what. It is
/// a planning figure, right to a factor of about two on the machines
/// measured (docs/DECISIONS.md); the balance between shards, which is what
/// it is for, depends only on the ratios between cases.
public enum CaseCost {
    /// Useful work per thread assumed for every strategy: about half of
    /// what the blockwise kernels reach on an AVX-512 core.
    public static let nominalGflopsPerThread = 50.0
    /// The float64 reference (``Verification/fullReferenceBudget`` takes about 2 s).
    public static let referenceMACsPerSecond = 0.5e9
    /// Generating one standard normal input element (xoshiro + Box–Muller).
    public static let secondsPerInputElement = 10e-9
    /// Starting the case's process and the harness around it.
    public static let nativeStartupSeconds = 0.3

    /// Masks whose resolved form would exceed this are not built to be
    /// costed: their case is costed as if every pair were computed (an
    /// upper bound), the same on every machine.
    public static let maxResolvedBytes = 64 << 20

    /// The predicted seconds of `config` (0 when its strategy does not
    /// compute its pattern). `mask` is the case's resolved mask.
    public static func seconds(_ config: CaseConfig, mask: AttentionMask) -> Double {
        seconds(config, pattern: mask.pattern, mask: mask)
    }

    /// The same with `mask` nil when it is too large to build: every Nq·Nk
    /// pair is then counted as computed.
    static func seconds(_ config: CaseConfig, pattern: MaskPattern, mask: AttentionMask?) -> Double {
        let startup: Double
        let computed: Int
        let every = config.shape.queryLength * config.shape.keyLength
        if let peer = PeerRegistry.peer(named: config.strategy) {
            guard peer.supports(pattern) else { return 0 }
            startup = peer.predictedStartupSeconds
            computed = mask.map(peer.computedPairs) ?? every
        } else if let strategy = try? StrategyRegistry.strategy(named: config.strategy) {
            guard strategy.supports(pattern) else { return 0 }
            startup = nativeStartupSeconds
            computed = mask.map(strategy.computedPairs) ?? every
        } else {
            return 0
        }
        let s = config.shape
        let run =
            TimeModel.flops(s, pairs: computed) * config.pass.flopFactor
            / (nominalGflopsPerThread * 1e9 * Double(max(1, config.threads)))
        let r = config.repetitions
        let timed = min(Double(r.maxReps) * run, max(Double(r.minReps) * run, r.minTime))
        let elements = Double(s.queryElementCount) + 2 * Double(s.batch * s.kvHeads * s.keyLength * s.headDim)
        return startup + elements * secondsPerInputElement + verificationSeconds(s)
            + Double(r.warmup + 1) * run + timed
    }

    /// The float64 reference's time for `shape`: every row when its
    /// multiply-adds fit ``Verification/fullReferenceBudget``, else the
    /// sample (64 rows in 2 heads).
    static func verificationSeconds(_ s: AttentionShape) -> Double {
        let all = Double(s.batch * s.heads) * Double(s.queryLength) * Double(s.keyLength) * Double(s.headDim)
        let sampled = 2 * Double(min(64, s.queryLength)) * Double(s.keyLength) * Double(s.headDim)
        return (all <= Double(Verification.fullReferenceBudget) ? all : sampled) / referenceMACsPerSecond
    }
}

extension SweepPlan {
    /// ``CaseCost/seconds(_:mask:)`` of each of `cases`, in order. Masks
    /// are resolved once per (pattern, Nq, Nk), and only when their bound
    /// (``MaskPattern/predictedResolvedBytes(queryLength:keyLength:)``) is
    /// within ``CaseCost/maxResolvedBytes``; a larger one is costed as all
    /// Nq·Nk pairs. A case whose pattern does not parse or resolve costs
    /// nothing (it fails at once).
    public func predictedSeconds(_ cases: [CaseConfig]) -> [Double] {
        /// A resolved mask, nil when too large to build, or a failure.
        enum Resolved {
            case mask(AttentionMask)
            case tooLarge, failed
        }
        var masks: [String: Resolved] = [:]
        return cases.map { c in
            guard let pattern = try? MaskPattern(parsing: c.pattern) else { return 0 }
            let nq = c.shape.queryLength, nk = c.shape.keyLength
            let key = "\(c.pattern)|\(nq)|\(nk)"
            let resolved: Resolved
            if let known = masks[key] {
                resolved = known
            } else if pattern.predictedResolvedBytes(queryLength: nq, keyLength: nk) > CaseCost.maxResolvedBytes {
                resolved = .tooLarge
            } else {
                resolved = (try? AttentionMask(pattern, shape: c.shape)).map(Resolved.mask) ?? .failed
            }
            masks[key] = resolved
            switch resolved {
            case .mask(let mask): return CaseCost.seconds(c, mask: mask)
            case .tooLarge: return CaseCost.seconds(c, pattern: pattern, mask: nil)
            case .failed: return 0
            }
        }
    }
}
