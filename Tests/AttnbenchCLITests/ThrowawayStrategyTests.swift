import ArgumentParser
import Attention
import AttentionTestSupport
import BenchHarness
import Foundation
import XCTest

@testable import attnbench

/// A strategy the package has never heard of, defined only here: the float64
/// reference's loops rounded to float32. Registered, it must run through
/// `run`, `sweep` with verification and the benchmark list with no edit
/// anywhere else: a strategy is one type.
struct ThrowawayAttention: AttentionStrategy {
    static let name = "throwaway"
    static let benchmarkPattern = MaskPattern.causal

    init(options: StrategyOptions) {}

    var summary: String { "the float64 reference rounded to float32 (a test strategy)" }
    var supportedKinds: Set<MaskPattern.Kind> { [.full, .causal] }
    var tileKernel: KernelID? { nil }

    func execution(shape: AttentionShape, mask: AttentionMask) -> StrategyExecution {
        StrategyExecution(kernel: "reference", tile: nil)
    }

    func tuningCandidates(shape: AttentionShape, mask: AttentionMask) -> [TileSize] { [] }

    /// The float64 output it builds before rounding.
    func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int, precision: Precision) -> Int {
        shape.queryElementCount * MemoryLayout<Double>.stride
    }

    func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int) throws {
        try validate(inputs, mask: mask, output: output, threads: threads)
        for (i, x) in ReferenceAttention.forward(inputs, mask: mask).enumerated() { output[i] = Float(x) }
    }
}

/// The throw-away strategy under a name the registry must refuse.
struct BadlyNamedAttention: AttentionStrategy {
    static let name = "Bad Name"
    static let benchmarkPattern = MaskPattern.full
    let base = ThrowawayAttention(options: .init())

    init(options: StrategyOptions) {}

    var summary: String { base.summary }
    var supportedKinds: Set<MaskPattern.Kind> { base.supportedKinds }
    var tileKernel: KernelID? { nil }
    func execution(shape: AttentionShape, mask: AttentionMask) -> StrategyExecution {
        base.execution(shape: shape, mask: mask)
    }
    func tuningCandidates(shape: AttentionShape, mask: AttentionMask) -> [TileSize] { [] }
    func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int, precision: Precision) -> Int {
        base.predictedExtraBytes(shape: shape, mask: mask, threads: threads, precision: precision)
    }
    func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int) throws {
        try base.forward(inputs, mask: mask, output: output, threads: threads)
    }
}

final class ThrowawayStrategyTests: XCTestCase {
    /// Registers the strategy once per test process.
    static let registration: Result<Void, any Error> = Result { try StrategyRegistry.register(ThrowawayAttention.self) }

    override func setUpWithError() throws {
        try Self.registration.get()
    }

    func testItIsListedAndNamedOnce() throws {
        XCTAssertEqual(StrategyRegistry.names.last, "throwaway")
        XCTAssertEqual(try StrategyRegistry.strategy(named: "throwaway").name, "throwaway")
        XCTAssertThrowsError(try StrategyRegistry.register(ThrowawayAttention.self)) { error in
            XCTAssertEqual(
                error as? AttentionError,
                .invalidStrategyName("throwaway", reason: "a strategy of that name is already registered"))
        }
    }

    func testMalformedNamesAreRefused() {
        XCTAssertThrowsError(try StrategyRegistry.register(BadlyNamedAttention.self)) { error in
            XCTAssertEqual(
                error as? AttentionError,
                .invalidStrategyName("Bad Name", reason: "use lowercase letters, digits and '-'"))
        }
        XCTAssertFalse(StrategyRegistry.names.contains("Bad Name"))
    }

    func testTheBenchmarkListHasIt() throws {
        let entry = try XCTUnwrap(StrategyRegistry.all.first { $0.name == "throwaway" })
        XCTAssertEqual(entry.benchmarkName(queryLength: 1024), "throwaway-causal-n1024")
        XCTAssert(entry.make(.init()).supports(ThrowawayAttention.benchmarkPattern))
    }

    func testRunVerifiesIt() throws {
        let run = try RunCommand.parse([
            "--strategy", "throwaway", "--seq-len", "37", "--kv-len", "45", "--head-dim", "7",
            "--pattern", "causal", "--reps", "2", "--verify", "--tuning", "none",
        ])
        XCTAssertNoThrow(try run.run())
    }

    func testSweepMeasuresAndVerifiesItBesideTheBuiltInOnes() throws {
        let directory = try TemporaryDirectory(prefix: "throwaway")
        defer { directory.remove() }
        let out = directory.path("sweep.csv")
        let sweep = try SweepCommand.parse([
            "--in-process", "--strategies", "throwaway,tiled", "--patterns", "causal,window:8",
            "--seq-lens", "33,64", "--heads", "2", "--head-dims", "16",
            "--min-reps", "1", "--max-reps", "2", "--min-time", "0",
            "--tuning", "none", "--out", out,
        ])
        try sweep.run()
        let report = try ReportFile(path: out)
        let rows = report.rows.filter { $0["strategy"] == "throwaway" }
        XCTAssertEqual(rows.map { $0["pattern"] }, ["causal", "window:8", "causal", "window:8"])
        XCTAssertEqual(rows.map { $0["status"] }, ["ok", "unsupported", "ok", "unsupported"])
        for row in rows where row["status"] == "ok" {
            XCTAssertEqual(row["kernel"], "reference")
            XCTAssertLessThan(try XCTUnwrap(Double(row["max_abs_error"] ?? "")), 1e-5)
            XCTAssertGreaterThan(try XCTUnwrap(Int(row["verified_rows"] ?? "")), 0)
        }
    }
}
