// package-benchmark suite for the attention strategies: two benchmarks per
// registered strategy on a small fixed problem, one counting the allocations
// of a single-worker forward pass, one measuring resident memory (and time,
// reported, not gated) with two workers; both gated by Thresholds/, see
// ../README.md.

import Attention
import Benchmark

/// The problem every benchmark solves: small enough that the whole suite runs
/// in seconds, large enough that each strategy does real blocked work.
private let benchmarkShape: AttentionShape = {
    do { return try AttentionShape(batch: 1, heads: 4, queryLength: 1024, headDim: 64) } catch {
        fatalError("AttentionBenchmarks: the benchmark shape is invalid: \(error)")
    }
}()
private let inputSeed: UInt64 = 0

/// One benchmark: a registered strategy on the pattern it names as its
/// own (``AttentionStrategy/benchmarkPattern``), so every strategy in
/// `StrategyRegistry.all` is measured with no edit here.
private struct Case {
    let strategy: StrategyRegistry.Entry
    let kind: Kind

    /// What a benchmark gates.
    enum Kind: CaseIterable {
        /// Allocations per forward pass with one worker thread: the pass's
        /// own, which do not depend on how workers are scheduled. Only the
        /// malloc metrics are measured, so the tool's resident-set sampler
        /// thread does not add its own.
        case allocations
        /// Peak resident memory with two workers, as the suite runs.
        case memory

        var threads: Int { self == .allocations ? 1 : 2 }
        var metrics: [BenchmarkMetric] {
            self == .allocations ? [.mallocCountTotal, .memoryLeakedBytes] : [.wallClock, .peakMemoryResident]
        }
    }

    var pattern: MaskPattern { strategy.type.benchmarkPattern }

    /// `dense-causal-n1024-t1` (allocations, one thread), `dense-causal-n1024`
    /// (memory); threshold files are looked up by it.
    var name: String {
        strategy.benchmarkName(queryLength: benchmarkShape.queryLength) + (kind == .allocations ? "-t1" : "")
    }
}

/// Everything a benchmark needs, built once in its setup (outside the
/// measured region): the strategy, Q/K/V, the resolved mask and the output
/// buffer that every iteration overwrites.
private final class Fixture: @unchecked Sendable {
    let strategy: any AttentionStrategy
    let inputs: AttentionInputs
    let mask: AttentionMask
    let output: Tensor
    let threads: Int

    init(_ benchmarkCase: Case) throws {
        threads = benchmarkCase.kind.threads
        strategy = benchmarkCase.strategy.make(StrategyOptions())
        inputs = AttentionInputs.random(shape: benchmarkShape, seed: inputSeed)
        mask = try AttentionMask(benchmarkCase.pattern, shape: benchmarkShape)
        output = inputs.makeOutput()
    }

    func forward() throws {
        try strategy.forward(inputs, mask: mask, output: output, threads: threads)
    }
}

/// Tolerances for `thresholds check`: this run's p90 against the recorded
/// p90. Every limit that is set must hold, in both directions (an
/// improvement beyond it is reported too). The measurements behind them are
/// in Benchmarks/README.md. (A function, not a global: the package's
/// configuration types are not `Sendable`, so Swift 6 rejects them as
/// global constants.)
private func makeConfiguration(_ kind: Case.Kind) -> Benchmark.Configuration {
    let tolerances: [BenchmarkMetric: BenchmarkThresholds] = [
        // One worker and no sampler thread: the count is the forward pass's
        // own and the same on every run, so no tolerance: one extra
        // allocation per pass fails.
        .mallocCountTotal: .init(absolute: [.p90: 0]),
        // Small runtime objects freed after the iteration ends show up as
        // "leaked": p90 0 to 384 bytes, single iterations up to 8 KiB. A
        // buffer leaked by every pass shows as more.
        .memoryLeakedBytes: .init(absolute: [.p90: 16 * 1024]),
        // Sampled resident set of the whole process (about 32 MB: runtime,
        // OpenBLAS, 4 MiB of Q/K/V/O, plus dense's 4 MiB score matrix).
        // 3 MiB absorbs the spread and still catches one extra 1024x1024
        // float matrix (4 MiB) alive during a pass. A buffer alive for well
        // under the ~5 ms sampling period can slip through.
        .peakMemoryResident: .init(absolute: [.p90: 3 * 1024 * 1024]),
    ]
    return Benchmark.Configuration(
        metrics: kind.metrics,
        timeUnits: .microseconds,
        units: [.peakMemoryResident: .kilo],
        warmupIterations: 3,
        maxDuration: .seconds(1),
        maxIterations: 40,
        thresholds: tolerances.filter { kind.metrics.contains($0.key) }
    )
}

let benchmarks: @Sendable () -> Void = {
    let cases = Case.Kind.allCases.flatMap { kind in StrategyRegistry.all.map { Case(strategy: $0, kind: kind) } }

    for benchmarkCase in cases {
        Benchmark(benchmarkCase.name, configuration: makeConfiguration(benchmarkCase.kind)) {
            (benchmark: Benchmark, fixture: Fixture) in
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
