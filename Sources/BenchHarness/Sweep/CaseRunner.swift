import Attention
import Foundation

/// One measured case: a strategy on a shape and pattern with a thread count.
public struct CaseConfig: Codable, Sendable, Equatable {
    public var strategy: String
    public var tile: String?
    /// The tile kernel asked for with `--kernel`, or nil.
    public var kernel: String?
    /// The `--tuning` value: a file, `none`, or nil for the default location.
    public var tuning: String?
    public var shape: AttentionShape
    public var pattern: String
    /// The storage of Q, K, V and O (`--dtype`).
    public var precision: Precision
    public var threads: Int
    public var seed: UInt64
    public var repetitions: RepetitionPolicy
    public var verify: Bool
    /// Measure the `cblas_sgemm` rate and the read bandwidth with the same
    /// threads before the case.
    public var calibrate: Bool
    /// The pass timed (`--pass`).
    public var pass: Pass

    public init(
        strategy: String, tile: String? = nil, kernel: String? = nil, tuning: String? = nil,
        shape: AttentionShape, pattern: String, precision: Precision = .f32,
        threads: Int, seed: UInt64 = 0, repetitions: RepetitionPolicy, verify: Bool, calibrate: Bool = false,
        pass: Pass = .forward
    ) {
        self.pass = pass
        self.precision = precision
        self.strategy = strategy
        self.tile = tile
        self.kernel = kernel
        self.tuning = tuning
        self.shape = shape
        self.pattern = pattern
        self.threads = threads
        self.seed = seed
        self.repetitions = repetitions
        self.verify = verify
        self.calibrate = calibrate
    }

    private enum CodingKeys: String, CodingKey {
        case strategy, tile, kernel, tuning, shape, pattern, precision, threads, seed, repetitions, verify, calibrate
        case pass
    }

    /// Decodes a case; one from a build before the precision axis (an A/B
    /// baseline's child) has no `precision` and measured float32, and one
    /// from before the pass axis has no `pass` and timed the forward.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            strategy: try c.decode(String.self, forKey: .strategy),
            tile: try c.decodeIfPresent(String.self, forKey: .tile),
            kernel: try c.decodeIfPresent(String.self, forKey: .kernel),
            tuning: try c.decodeIfPresent(String.self, forKey: .tuning),
            shape: try c.decode(AttentionShape.self, forKey: .shape),
            pattern: try c.decode(String.self, forKey: .pattern),
            precision: try c.decodeIfPresent(Precision.self, forKey: .precision) ?? .f32,
            threads: try c.decode(Int.self, forKey: .threads), seed: try c.decode(UInt64.self, forKey: .seed),
            repetitions: try c.decode(RepetitionPolicy.self, forKey: .repetitions),
            verify: try c.decode(Bool.self, forKey: .verify), calibrate: try c.decode(Bool.self, forKey: .calibrate),
            pass: try c.decodeIfPresent(Pass.self, forKey: .pass) ?? .forward)
    }
}

/// Everything measured for one case; `attnbench run --format json` prints it
/// and the sweep reads it back from its child processes.
public struct CaseResult: Codable, Sendable {
    public var config: CaseConfig
    public var attendedPairs: Int
    public var density: Double
    /// 4·B·H·d·attendedPairs: the work a strategy is credited with.
    public var usefulFlops: Double
    public var timesMs: [Double]
    public var statistics: SampleStatistics
    public var usefulGflops: Double
    public var tokensPerSecond: Double
    public var inputBytes: Int
    public var rssBeforeInputsBytes: Int
    public var rssWithInputsBytes: Int
    /// Peak resident set during the timed runs (`VmHWM` after a reset).
    public var peakRssBytes: Int
    /// `peakRssBytes` minus the resident set with the inputs and the output in
    /// place, taken before the strategy first ran: the strategy's working
    /// memory, including what its first run touches for good (OpenBLAS
    /// buffers, worker thread stacks). Signed, never clamped.
    public var peakExtraBytes: Int
    /// The process's peak resident set over its whole life (`ru_maxrss`).
    public var processPeakRssBytes: Int
    /// With a backward pass: what the forward saved for it (O and the row
    /// log-sum-exp), and the gradients dQ, dK and dV with dO. Both are in
    /// place before the timed runs, so neither is in ``peakExtraBytes``.
    public var savedBytes: Int?
    public var gradientBytes: Int?
    public var predictedExtraBytes: Int
    /// Whether `/proc/self/clear_refs` reset the peak before the timed runs.
    public var peakWasReset: Bool
    public var verification: VerificationResult?
    public var blas: BLASEnvironment
    /// `cblas_sgemm` GFLOP/s on 2048³ with the same threads, measured in this
    /// process just before the case (with `calibrate`).
    public var sgemmGflops: Double?

    /// Useful GFLOP/s over the sgemm rate: the figure that survives machine noise.
    public var fractionOfSgemm: Double?
    /// When the result pools several processes (the rounds of an A/B run):
    /// how many of `timesMs`, in order, each one contributed.
    public var roundSizes: [Int]?
    /// The kernel and tile the strategy ran with (nil from builds before the kernel table).
    public var execution: StrategyExecution?
    /// How they were chosen: `flag`, `tuned`, `flag+tuned` or `default`.
    public var kernelChoice: String?
    /// The least traffic the case needs (see ``Roofline``); nil from builds before the roofline.
    public var minimumBytes: Int?
    /// Streaming read GB/s with the same threads, measured in this process
    /// just before the case (with `calibrate`).
    public var readBandwidthGBps: Double?
    /// The same, measured right after the timed runs (with `calibrate`):
    /// the bandwidth moves with the host's neighbours, so a case is placed
    /// against both (``Calibration``).
    public var readBandwidthAfterGBps: Double?
    /// Each instruction's measured peak GFLOP/s with the same threads, by
    /// ``PeakInstruction`` raw value, just before the case (with `calibrate`).
    public var computePeaks: [String: Double]?

    /// The case's place on the roofline, when its minimum traffic is known.
    public var roofline: Roofline? { minimumBytes.map { Roofline(minimumBytes: $0, usefulFlops: usefulFlops) } }
}

/// Why a case cannot run at all.
public struct CaseError: Error, CustomStringConvertible {
    public let description: String
}

public enum CaseRunner {
    /// Seconds a peer may run when a case runs here rather than under a
    /// sweep's `--timeout` (`attnbench run`): a day.
    public static let peerTimeout: Double = 86_400

    /// What a case holds before its strategy runs: the tensors and the
    /// resolved mask's upper bound (``MaskPattern/predictedResolvedBytes(queryLength:keyLength:)``),
    /// known without building anything; `Int.max` when the sum overflows.
    public static func bytesBeforeResolving(_ pattern: MaskPattern, shape: AttentionShape, precision: Precision)
        -> (total: Int, mask: Int)
    {
        let mask = pattern.predictedResolvedBytes(queryLength: shape.queryLength, keyLength: shape.keyLength)
        let (sum, overflow) = shape.tensorBytes(precision).addingReportingOverflow(mask)
        return (overflow ? Int.max : sum, mask)
    }

    /// The strategy and the resolved mask of a case, or the error that rules it out.
    public static func prepare(_ config: CaseConfig) throws -> (any AttentionStrategy, AttentionMask) {
        let (strategy, mask, _) = try prepareWithChoice(config)
        return (strategy, mask)
    }

    /// ``prepare(_:)``, and how the kernel and tile were chosen: flags first,
    /// then the tuning file for what the flags left open (only a tuned entry
    /// of the flagged kernel lends its tile), then the defaults.
    static func prepareWithChoice(_ config: CaseConfig) throws -> (any AttentionStrategy, AttentionMask, String) {
        var options = StrategyOptions(
            tile: try config.tile.map { try TileSize(parsing: $0) },
            kernel: try config.kernel.map { try KernelTable.parse($0) })
        let flagged = options.tile != nil || options.kernel != nil
        let pattern = try MaskPattern(parsing: config.pattern)
        var tuned = false
        if options.tile == nil || options.kernel == nil,
            let (_, file) = try TuningCache.file(for: TuningSource(flag: config.tuning)),
            let choice = file.choice(
                strategy: config.strategy, headDim: config.shape.headDim, pattern: pattern,
                precision: config.precision, pass: config.pass),
            options.kernel == nil || options.kernel == choice.kernel
        {
            if options.kernel == nil {
                options.kernel = choice.kernel
                tuned = true
            }
            if options.tile == nil, let tile = choice.tile {
                options.tile = tile
                tuned = true
            }
        }
        let strategy = try StrategyRegistry.strategy(named: config.strategy, options: options)
        try strategy.requireSupport(pattern)
        let mask = try AttentionMask(pattern, shape: config.shape)
        return (strategy, mask, flagged ? (tuned ? "flag+tuned" : "flag") : (tuned ? "tuned" : "default"))
    }

    /// Runs a case: builds inputs in the case's precision (or uses `inputs`,
    /// loaded when the resident set was `rssBeforeInputs`), times it under
    /// the repetition policy while watching the peak RSS, then, when asked,
    /// verifies the last run's output: after the peak is read, so the
    /// reference's own memory is not counted as the strategy's. Random
    /// half-precision inputs are also judged against the unrounded float32
    /// problem of the same seed (``VerificationResult/storageRelativeError``).
    /// With `saveOutput`, the output of the last run is written there as `.npy`.
    ///
    /// A peer's case (``PeerRegistry``) runs through ``PeerRunner`` in its
    /// own process, measured the same way.
    ///
    /// - Throws: ``CaseError`` when the inputs plus the predicted working
    ///   memory exceed the machine's physical memory (the case would be
    ///   killed); ``PeerError`` for a peer case without a measurement.
    public static func run(
        _ config: CaseConfig, inputs given: AttentionInputs? = nil, rssBeforeInputs: Int? = nil,
        saveOutput: String? = nil
    ) throws -> CaseResult {
        if let peer = PeerRegistry.peer(named: config.strategy) {
            return try PeerRunner.run(
                config, peer: peer, inputs: given, saveOutput: saveOutput, timeout: peerTimeout)
        }
        // Refused before a layout is built: one that cannot fit would trap or take minutes first.
        let early = bytesBeforeResolving(
            try MaskPattern(parsing: config.pattern), shape: config.shape, precision: config.precision
        ).total
        guard early < ProcessMemory.physicalBytes else {
            throw CaseError(
                description:
                    "\(config.strategy) \(config.pattern) on \(config.shape) needs more than \(Bytes.format(early)) for its inputs and mask, more than the machine's \(Bytes.format(ProcessMemory.physicalBytes))"
            )
        }
        let (strategy, mask, choice) = try prepareWithChoice(config)
        if config.pass.hasBackward, let why = strategy.backwardUnavailability(precision: config.precision) {
            throw AttentionError.unsupportedPass(strategy: strategy.name, pass: "backward", reason: why)
        }
        let predicted = predictedExtraBytes(strategy, config, mask: mask)
        let needed =
            Double(config.shape.tensorBytes(config.precision)) + Double(trainingBytes(config)) + Double(predicted)
        guard needed < Double(ProcessMemory.physicalBytes) else {
            throw CaseError(
                description:
                    "\(config.strategy) on \(config.shape) needs about \(Bytes.format(Int(min(needed, 9e18)))), more than the machine's \(Bytes.format(ProcessMemory.physicalBytes))"
            )
        }
        let before = config.calibrate ? Calibration.measure(threads: config.threads) : nil
        let rssBefore = rssBeforeInputs ?? ProcessMemory.residentBytes()
        if let given, given.precision != config.precision {
            throw CaseError(
                description: "the inputs are \(given.precision), the case asks for --dtype \(config.precision)")
        }
        let inputs =
            given ?? AttentionInputs.random(shape: config.shape, seed: config.seed, precision: config.precision)
        let output = inputs.makeOutput()
        // The backward's tensors, all resident before the timed runs: dO from
        // its own stream of the seed, the saved O and L, the gradients.
        let training = config.pass.hasBackward ? TrainingTensors(config, output: output) : nil
        if let t = training, config.pass == .backward {
            // The forward that saves O and L runs once, outside the timer (and the peak).
            try strategy.forward(inputs, mask: mask, saving: t.saved, threads: config.threads)
        }
        let rssWith = ProcessMemory.residentBytes()

        let reset = ProcessMemory.resetPeak()
        let times = try Stopwatch.measure(config.repetitions) {
            if let t = training {
                if config.pass == .both {
                    try strategy.forward(inputs, mask: mask, saving: t.saved, threads: config.threads)
                }
                try strategy.backward(
                    inputs, mask: mask, saved: t.saved, outputGradient: t.outputGradient, into: t.gradients,
                    threads: config.threads)
            } else {
                try strategy.forward(inputs, mask: mask, output: output, threads: config.threads)
            }
        }
        var memory = MemoryReading(
            rssBeforeInputs: rssBefore, rssWithInputs: rssWith, peak: ProcessMemory.peakResidentBytes(),
            processPeak: ProcessMemory.processPeakBytes(), peakWasReset: reset)
        memory.savedBytes = training?.savedBytes
        memory.gradientBytes = training?.gradientBytes
        var verification: VerificationResult?
        if config.verify, let t = training {
            verification = Verification.verifyGradients(
                inputs, mask: mask, outputGradient: t.outputGradient, gradients: t.gradients)
        } else if config.verify {
            let unrounded =
                given == nil && config.precision != .f32
                ? AttentionInputs.random(shape: config.shape, seed: config.seed) : nil
            verification = Verification.verify(inputs, mask: mask, output: output, unrounded: unrounded)
        }
        if let path = saveOutput { try TensorFiles.save(output, shape: config.shape, to: path) }
        return try result(
            config, mask: mask, times: times, memory: memory, predictedExtraBytes: predicted,
            verification: verification, execution: strategy.execution(shape: config.shape, mask: mask),
            kernelChoice: choice, calibration: before?.after())
    }

    /// The strategy's predicted working memory for the case's pass. The
    /// workspaces are pooled between calls, so with both passes the
    /// forward's and the backward's are resident together.
    public static func predictedExtraBytes(_ strategy: any AttentionStrategy, _ config: CaseConfig, mask: AttentionMask)
        -> Int
    {
        config.pass.extraBytes(
            forward: strategy.predictedExtraBytes(
                shape: config.shape, mask: mask, threads: config.threads, precision: config.precision),
            backward: strategy.predictedBackwardExtraBytes(shape: config.shape, mask: mask, threads: config.threads))
    }

    /// What a case with a backward pass holds besides Q, K, V and O (see
    /// ``TrainingTensors``): the saved log-sum-exp, dO and the float32
    /// gradients; 0 for the forward.
    public static func trainingBytes(_ config: CaseConfig) -> Int {
        guard config.pass.hasBackward else { return 0 }
        let s = config.shape
        return (s.batch * s.heads * s.queryLength + s.queryElementCount) * MemoryLayout<Float>.stride
            + AttentionGradients.bytes(s)
    }

    /// The `saved_bytes` and `gradient_bytes` of a case with a backward
    /// pass (``TrainingTensors``): O in the case's precision and the float32
    /// L; the float32 dQ, dK, dV and dO.
    static func trainingTensorBytes(_ config: CaseConfig) -> (saved: Int, gradients: Int) {
        let s = config.shape
        let logSumExp = s.batch * s.heads * s.queryLength * MemoryLayout<Float>.stride
        return (
            s.queryElementCount * config.precision.bytes + logSumExp,
            AttentionGradients.bytes(s) + s.queryElementCount * MemoryLayout<Float>.stride
        )
    }

    /// What `calibrate` measures around a case: sgemm, every instruction's
    /// peak and the read bandwidth before it, and the read bandwidth again
    /// after it (read after the case's memory readings, so its buffer is
    /// not counted).
    public struct Calibration: Sendable {
        public var threads: Int
        public var sgemmGflops: Double
        public var peaks: [PeakInstruction: Double]
        public var bandwidthBeforeGBps: Double
        public var bandwidthAfterGBps: Double?

        static func measure(threads: Int) -> Calibration {
            Calibration(
                threads: threads, sgemmGflops: GEMMCalibration.sgemmRate(threads: threads),
                peaks: PeakCalibration(threads: threads).full(),
                bandwidthBeforeGBps: BandwidthCalibration.readRate(threads: threads))
        }

        /// This calibration with the bandwidth measured again now.
        func after() -> Calibration {
            var c = self
            c.bandwidthAfterGBps = BandwidthCalibration.readRate(threads: threads)
            return c
        }
    }

    /// The resident-set readings of a case's process (see ``CaseResult``).
    public struct MemoryReading: Sendable {
        public var rssBeforeInputs: Int
        public var rssWithInputs: Int
        public var peak: Int
        public var processPeak: Int
        public var peakWasReset: Bool
        /// With a backward pass: the saved tensors' and the gradients' bytes.
        public var savedBytes: Int? = nil
        public var gradientBytes: Int? = nil
    }

    /// What a case with a backward pass holds besides Q, K, V and O: dO (from
    /// stream 3 of the case's seed), the saved O (the case's output) and row
    /// log-sum-exp, and the gradients.
    struct TrainingTensors {
        let outputGradient: Tensor
        let saved: SavedForward
        let gradients: AttentionGradients

        init(_ config: CaseConfig, output: Tensor) { self.init(shape: config.shape, seed: config.seed, output: output) }

        init(shape s: AttentionShape, seed: UInt64, output: Tensor) {
            outputGradient = AttentionGradients.randomOutputGradient(shape: s, seed: seed)
            saved = SavedForward(output: output, logSumExp: Tensor(count: s.batch * s.heads * s.queryLength))
            gradients = AttentionGradients(shape: s)
        }

        /// O and L.
        var savedBytes: Int { saved.output.bytes + saved.logSumExp.bytes }
        /// dQ, dK, dV and dO.
        var gradientBytes: Int {
            gradients.query.bytes + gradients.key.bytes + gradients.value.bytes + outputGradient.bytes
        }
    }

    /// A case's result from its timed runs and readings: the one place the
    /// derived figures (useful FLOPs, rates, roofline traffic) are computed,
    /// for native strategies and peers alike.
    static func result(
        _ config: CaseConfig, mask: AttentionMask, times: [Double], memory: MemoryReading, predictedExtraBytes: Int,
        verification: VerificationResult?, execution: StrategyExecution, kernelChoice: String,
        calibration: Calibration?, blas: BLASEnvironment = .current()
    ) throws -> CaseResult {
        let sgemm = calibration?.sgemmGflops
        let stats = try SampleStatistics(times)
        let s = config.shape
        let flops = 4 * Double(s.batch * s.heads * s.headDim) * Double(mask.attendedPairs) * config.pass.flopFactor
        let medianSeconds = stats.median * 1e-3
        return CaseResult(
            config: config, attendedPairs: mask.attendedPairs, density: mask.density, usefulFlops: flops,
            timesMs: times, statistics: stats,
            usefulGflops: flops / medianSeconds / 1e9,
            tokensPerSecond: Double(s.batch * s.queryLength) / medianSeconds,
            inputBytes: s.tensorBytes(config.precision), rssBeforeInputsBytes: memory.rssBeforeInputs,
            rssWithInputsBytes: memory.rssWithInputs, peakRssBytes: memory.peak,
            peakExtraBytes: memory.peak - memory.rssWithInputs, processPeakRssBytes: memory.processPeak,
            savedBytes: memory.savedBytes, gradientBytes: memory.gradientBytes,
            predictedExtraBytes: predictedExtraBytes, peakWasReset: memory.peakWasReset, verification: verification,
            blas: blas, sgemmGflops: sgemm, fractionOfSgemm: sgemm.map { flops / medianSeconds / 1e9 / $0 },
            execution: execution, kernelChoice: kernelChoice,
            // The backward also reads dO, O and L and writes the three gradients.
            minimumBytes: Roofline(shape: s, mask: mask, precision: config.precision).minimumBytes
                + (config.pass.hasBackward ? (memory.savedBytes ?? 0) + (memory.gradientBytes ?? 0) : 0),
            readBandwidthGBps: calibration?.bandwidthBeforeGBps,
            readBandwidthAfterGBps: calibration?.bandwidthAfterGBps,
            computePeaks: calibration.map { c in Dictionary(uniqueKeysWithValues: c.peaks.map { ($0.rawValue, $1) }) })
    }
}
