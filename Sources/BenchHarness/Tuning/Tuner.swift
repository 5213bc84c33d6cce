import Attention
import Foundation

/// Measures the candidate kernels and tiles of each strategy on this machine
/// and keeps the fastest that matches the reference: what `attnbench tune`
/// runs.
///
/// For every strategy that has something to tune, every precision, every
/// pass, every head dim and every pattern the strategy supports, on B=1,
/// H=`heads`, N=`seqLen`: each available kernel with each of the strategy's
/// ``AttentionStrategy/tuningCandidates(shape:mask:)`` and the kernel's own
/// default tile, in this process, the fastest of `reps` runs after one
/// warm-up (noise only slows a run down), timed as `run --pass` times the
/// pass. The winner is then checked against the float64 reference (the
/// output, or the gradients, as `run --verify` samples them); a winner over
/// tolerance is dropped for the next. A strategy without a backward for the
/// precision is not tuned for a backward pass.
public struct Tuner {
    public var strategies: [String]
    public var headDims: [Int]
    public var precisions: [Precision]
    public var passes: [Pass]
    public var patterns: [String]
    public var seqLen: Int
    public var heads: Int
    public var threads: Int
    public var reps: Int

    public init(
        strategies: [String], headDims: [Int], precisions: [Precision] = [.f32], passes: [Pass] = [.forward],
        patterns: [String], seqLen: Int, heads: Int = 8, threads: Int, reps: Int = 3
    ) {
        self.strategies = strategies
        self.headDims = headDims
        self.precisions = precisions
        self.passes = passes
        self.patterns = patterns
        self.seqLen = seqLen
        self.heads = heads
        self.threads = threads
        self.reps = reps
    }

    /// Runs every measurement; `progress` gets one line per tuned family.
    public func run(progress: (String) -> Void) throws -> TuningFile {
        var entries: [TuningFile.Entry] = []
        for (precision, d) in precisions.flatMap({ p in headDims.map { (p, $0) } }) {
            let shape = try AttentionShape(heads: heads, queryLength: seqLen, headDim: d)
            let inputs = AttentionInputs.random(shape: shape, seed: 0, precision: precision)
            let output = inputs.makeOutput()
            for pass in passes {
                let training =
                    pass.hasBackward ? CaseRunner.TrainingTensors(shape: shape, seed: 0, output: output) : nil
                for name in strategies {
                    for text in patterns {
                        let pattern = try MaskPattern(parsing: text)
                        let probe = try StrategyRegistry.strategy(named: name)
                        guard probe.supports(pattern), probe.tileKernel != nil,
                            !pass.hasBackward || probe.backwardUnavailability(precision: precision) == nil
                        else { continue }
                        let mask = try AttentionMask(pattern, shape: shape)
                        guard
                            let entry = try tune(
                                name, pattern: pattern, mask: mask, inputs: inputs, output: output, pass: pass,
                                training: training)
                        else { continue }
                        entries.append(entry)
                        let gain =
                            entry.defaultMs.map { String(format: ", default %.2f ms (%.2fx)", $0, $0 / entry.bestMs) }
                            ?? ""
                        progress(
                            String(
                                format: "%@ %@ d=%d N=%d %@%@: %@ tile %@, %.2f ms%@", name, text, d, seqLen,
                                precision.rawValue, pass == .forward ? "" : " \(pass)",
                                KernelTable.descriptor(entry.kernel).name, entry.tile.description, entry.bestMs, gain))
                    }
                }
            }
        }
        return TuningFile(
            cpuModel: CPUFeatures.current().modelName, kernelsAvailable: TuningFile.kernelsHere,
            threads: threads, entries: entries)
    }

    /// One family: every candidate, fastest first, and the first that verifies.
    func tune(
        _ name: String, pattern: MaskPattern, mask: AttentionMask, inputs: AttentionInputs,
        output: Tensor, pass: Pass = .forward, training: CaseRunner.TrainingTensors? = nil
    ) throws -> TuningFile.Entry? {
        /// One timed call of the pass; a backward's forward runs before, untimed.
        func measure(_ strategy: any AttentionStrategy) throws -> [Double] {
            guard let t = training else {
                return try Stopwatch.measure(.fixed(warmup: 1, reps: reps)) {
                    try strategy.forward(inputs, mask: mask, output: output, threads: threads)
                }
            }
            if pass == .backward { try strategy.forward(inputs, mask: mask, saving: t.saved, threads: threads) }
            return try Stopwatch.measure(.fixed(warmup: 1, reps: reps)) {
                if pass == .both { try strategy.forward(inputs, mask: mask, saving: t.saved, threads: threads) }
                try strategy.backward(
                    inputs, mask: mask, saved: t.saved, outputGradient: t.outputGradient, into: t.gradients,
                    threads: threads)
            }
        }
        /// The candidate's result against the reference.
        func verifies(_ strategy: any AttentionStrategy) throws -> Bool {
            guard let t = training else {
                try strategy.forward(inputs, mask: mask, output: output, threads: threads)
                return Verification.verify(inputs, mask: mask, output: output).passes
            }
            try strategy.forward(inputs, mask: mask, saving: t.saved, threads: threads)
            try strategy.backward(
                inputs, mask: mask, saved: t.saved, outputGradient: t.outputGradient, into: t.gradients,
                threads: threads)
            return Verification.verifyGradients(
                inputs, mask: mask, outputGradient: t.outputGradient, gradients: t.gradients
            ).passes
        }
        let shape = inputs.shape
        var measured: [(candidate: TuningFile.Candidate, strategy: any AttentionStrategy)] = []
        var defaultMs: Double?
        for kernel in KernelTable.available {
            let kernelDefault = try StrategyRegistry.strategy(named: name, options: StrategyOptions(kernel: kernel))
            var tiles: [TileSize?] = [nil]
            tiles += kernelDefault.tuningCandidates(shape: shape, mask: mask).map { Optional($0) }
            var seen = Set<TileSize>()
            for tile in tiles {
                let strategy = try StrategyRegistry.strategy(
                    named: name, options: StrategyOptions(tile: tile, kernel: kernel))
                guard let used = strategy.execution(shape: shape, mask: mask).tile, seen.insert(used).inserted else {
                    continue
                }
                let ms = try measure(strategy).min()!
                if tile == nil && kernel == KernelTable.defaultKernel { defaultMs = ms }
                measured.append((TuningFile.Candidate(kernel: kernel, tile: used, ms: ms), strategy))
            }
        }
        measured.sort { $0.candidate.ms < $1.candidate.ms }
        for (candidate, strategy) in measured {
            guard try verifies(strategy) else { continue }
            return TuningFile.Entry(
                strategy: name, headDim: shape.headDim, pattern: pattern.description,
                patternKind: pattern.kind.rawValue, seqLen: shape.queryLength, dtype: inputs.precision, pass: pass,
                kernel: candidate.kernel, tile: candidate.tile, bestMs: candidate.ms,
                defaultMs: defaultMs, candidates: measured.map(\.candidate))
        }
        return nil
    }
}
