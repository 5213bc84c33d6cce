import Attention
import Foundation

/// One measured case: a strategy on a shape and pattern with a thread count.
public struct CaseConfig: Codable, Sendable, Equatable {
    public var strategy: String
    public var tile: String?
    public var shape: AttentionShape
    public var pattern: String
    public var threads: Int
    public var seed: UInt64
    public var repetitions: RepetitionPolicy
    public var verify: Bool
    /// Measure the `cblas_sgemm` rate with the same threads before the case.
    public var calibrate: Bool

    public init(strategy: String, tile: String? = nil, shape: AttentionShape, pattern: String,
                threads: Int, seed: UInt64 = 0, repetitions: RepetitionPolicy, verify: Bool, calibrate: Bool = false) {
        self.strategy = strategy; self.tile = tile; self.shape = shape; self.pattern = pattern
        self.threads = threads; self.seed = seed; self.repetitions = repetitions; self.verify = verify
        self.calibrate = calibrate
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
    public var peakRssBytes: Int
    /// Peak during the timed runs minus the resident set with inputs (and
    /// output) in place.
    public var peakExtraBytes: Int
    public var predictedExtraBytes: Int
    /// Whether `/proc/self/clear_refs` reset the peak before the timed runs.
    public var peakWasReset: Bool
    public var verification: VerificationResult?
    public var blas: BLASEnvironment
    /// `cblas_sgemm` GFLOP/s on 2048³ with the same threads, measured in this
    /// process just before the case (with `calibrate`).
    public var sgemmGflops: Double?

    /// Useful GFLOP/s over the sgemm rate: the figure that survives machine noise.
    public var fractionOfSgemm: Double? { sgemmGflops.map { usefulGflops / $0 } }
}

public enum CaseRunner {
    /// The strategy and the resolved mask of a case, or the error that rules it out.
    public static func prepare(_ config: CaseConfig) throws -> (any AttentionStrategy, AttentionMask) {
        let options = StrategyOptions(tile: try config.tile.map { try TileSize(parsing: $0) })
        let strategy = try StrategyRegistry.strategy(named: config.strategy, options: options)
        let pattern = try MaskPattern(parsing: config.pattern)
        try strategy.requireSupport(pattern)
        let mask = try AttentionMask(pattern, shape: config.shape)
        return (strategy, mask)
    }

    /// Runs a case: builds inputs (or uses `inputs`), verifies when asked,
    /// then times it under the repetition policy while watching the peak RSS.
    /// With `saveOutput`, the output of the last run is written there as `.npy`.
    public static func run(_ config: CaseConfig, inputs given: AttentionInputs? = nil, saveOutput: String? = nil) throws -> CaseResult {
        let (strategy, mask) = try prepare(config)
        let sgemm = config.calibrate ? GEMMCalibration.sgemmRate(threads: config.threads) : nil
        let rssBefore = ProcessMemory.residentBytes()
        let inputs = given ?? AttentionInputs.random(shape: config.shape, seed: config.seed)
        let output = inputs.makeOutput()
        let rssWith = ProcessMemory.residentBytes()

        var verification: VerificationResult?
        if config.verify {
            try strategy.forward(inputs, mask: mask, output: output, threads: config.threads)
            verification = Verification.verify(inputs, mask: mask, output: output)
        }
        let reset = ProcessMemory.resetPeak()
        let times = try Stopwatch.measure(config.repetitions) {
            try strategy.forward(inputs, mask: mask, output: output, threads: config.threads)
        }
        let peak = ProcessMemory.peakResidentBytes()
        if let path = saveOutput { try TensorFiles.save(output, shape: config.shape, to: path) }
        // Without a reset the high-water mark includes the reference's buffers; the
        // resident set with inputs is then the best floor we have.
        let stats = try SampleStatistics(times)
        let s = config.shape
        let pairs = mask.attendedPairs
        let flops = 4 * Double(s.batch * s.heads * s.headDim) * Double(pairs)
        let medianSeconds = stats.median * 1e-3
        return CaseResult(
            config: config, attendedPairs: pairs, density: mask.density, usefulFlops: flops,
            timesMs: times, statistics: stats,
            usefulGflops: flops / medianSeconds / 1e9,
            tokensPerSecond: Double(s.batch * s.queryLength) / medianSeconds,
            inputBytes: s.tensorBytes, rssBeforeInputsBytes: rssBefore, rssWithInputsBytes: rssWith,
            peakRssBytes: peak, peakExtraBytes: max(0, peak - rssWith),
            predictedExtraBytes: strategy.predictedExtraBytes(shape: s, mask: mask, threads: config.threads),
            peakWasReset: reset, verification: verification, blas: .current(), sgemmGflops: sgemm)
    }
}
