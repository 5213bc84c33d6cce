// package-benchmark suite for the attention strategies: one benchmark per
// registered strategy on a small fixed problem, measuring time (reported, not
// gated) and allocations and resident memory (gated by Thresholds/, see
// ../README.md).

import Attention
import Benchmark

/// The problem every benchmark solves: small enough that the whole suite runs
/// in seconds, large enough that each strategy does real blocked work.
private let benchmarkShape: AttentionShape = {
    do { return try AttentionShape(batch: 1, heads: 4, queryLength: 1024, headDim: 64) } catch {
        fatalError("AttentionBenchmarks: the benchmark shape is invalid: \(error)")
    }
}()
private let workerThreads = 2
private let inputSeed: UInt64 = 0

/// One benchmark: a registered strategy on the pattern it names as its
/// own (``AttentionStrategy/benchmarkPattern``), so every strategy in
/// `StrategyRegistry.all` is measured with no edit here.
private struct Case {
    let strategy: StrategyRegistry.Entry

    var pattern: MaskPattern { strategy.type.benchmarkPattern }

    /// `dense-causal-n1024`, `sliding-window64-n1024` (threshold files are
    /// looked up by it).
    var name: String { strategy.benchmarkName(queryLength: benchmarkShape.queryLength) }
}

/// Everything a benchmark needs, built once in its setup (outside the
/// measured region): the strategy, Q/K/V, the resolved mask and the output
/// buffer that every iteration overwrites.
private final class Fixture: @unchecked Sendable {
    let strategy: any AttentionStrategy
    let inputs: AttentionInputs
    let mask: AttentionMask
    let output: AlignedBuffer

    init(_ benchmarkCase: Case) throws {
        strategy = benchmarkCase.strategy.make(StrategyOptions())
        inputs = AttentionInputs.random(shape: benchmarkShape, seed: inputSeed)
        mask = try AttentionMask(benchmarkCase.pattern, shape: benchmarkShape)
        output = inputs.makeOutput()
    }

    func forward() throws {
        try strategy.forward(inputs, mask: mask, output: output, threads: workerThreads)
    }
}

/// Measured: wall clock, for people to read, and the metrics the CI gate
/// checks: allocations per forward pass, leaked malloc bytes and the peak
/// resident set. Only the metrics that are in the Thresholds/ files are
/// checked; scripts/update-benchmark-thresholds.sh writes exactly the gated
/// ones, and each of them needs a tolerance in `tolerances` below (a metric
/// in the files without one is checked with zero tolerance).
///
/// `memoryLeaked` is not produced by the malloc-interposer backend this
/// package builds with (the tool warns and leaves it empty); its
/// `memoryLeakedBytes` (bytes malloc'd minus bytes freed in an iteration) is
/// the equivalent.
private let measuredMetrics: [BenchmarkMetric] = [
    .wallClock,
    .peakMemoryResident,
    .mallocCountTotal,
    .memoryLeakedBytes,
]

/// Tolerances for `thresholds check`: this run's p90 against the recorded
/// p90. Every limit that is set must hold, in both directions (an
/// improvement beyond it is reported too), so each metric gets one kind.
/// Measured spread of the p90s on unchanged code (runs on both cores, on
/// one core, and with OpenBLAS's SkylakeX instead of Haswell kernels):
/// malloc count ±2, leaked bytes 0...384, peak RSS within 0.9 MB.
/// (A function, not a global: the package's configuration types are not
/// `Sendable`, so Swift 6 rejects them as global constants.)
private func makeConfiguration() -> Benchmark.Configuration {
    let tolerances: [BenchmarkMetric: BenchmarkThresholds] = [
        // The malloc counter is process-wide, so it also sees the tool:
        // a fixed 16 mallocs per iteration from its /proc reads at start
        // and stop, and 4 per sample of its RSS sampler thread (every
        // ~5 ms while peakMemoryResident is measured) that lands inside an
        // iteration: 0 or 4 here, more if iterations get much slower.
        // The forward passes themselves allocate 24 (tiled) to 90
        // (sliding) times, ±1. 8 absorbs two sampler hits.
        .mallocCountTotal: .init(absolute: [.p90: 8]),
        // Small runtime objects freed after the iteration ends show up as
        // "leaked": p90 0 to 384 bytes, single iterations up to 8 KiB. A
        // buffer leaked by every pass shows as more.
        .memoryLeakedBytes: .init(absolute: [.p90: 16 * 1024]),
        // Sampled resident set of the whole process (about 32 MB: runtime,
        // OpenBLAS, 4 MiB of Q/K/V/O, plus dense's 4 MiB score matrix).
        // 3 MiB absorbs the spread and still catches one extra 1024x1024
        // float matrix (4 MiB) alive during a pass: tried, +4.1 to +4.4 MB
        // on every benchmark. A buffer alive for well under the ~5 ms
        // sampling period can slip through.
        .peakMemoryResident: .init(absolute: [.p90: 3 * 1024 * 1024]),
    ]
    return Benchmark.Configuration(
        metrics: measuredMetrics,
        timeUnits: .microseconds,
        units: [.peakMemoryResident: .kilo],
        warmupIterations: 3,
        maxDuration: .seconds(1),
        maxIterations: 40,
        thresholds: tolerances
    )
}

let benchmarks: @Sendable () -> Void = {
    let cases = StrategyRegistry.all.map(Case.init(strategy:))

    let configuration = makeConfiguration()
    for benchmarkCase in cases {
        Benchmark(benchmarkCase.name, configuration: configuration) { (benchmark: Benchmark, fixture: Fixture) in
            for _ in benchmark.scaledIterations {
                try fixture.forward()
            }
            blackHole(fixture.output[0])
        } setup: {
            let fixture = try Fixture(benchmarkCase)
            try fixture.forward()  // fails the benchmark early on a bad case
            return fixture
        }
    }
}
