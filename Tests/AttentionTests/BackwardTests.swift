import Attention
import AttentionTestSupport
import XCTest

/// The backward pass: the float64 reference against finite differences, and
/// every strategy's gradients against the reference on awkward shapes.
final class BackwardTests: XCTestCase {
    /// The reference's gradients against central differences of the
    /// reference forward's loss `ℓ = Σ dO ∘ O`, on a tiny grouped shape with
    /// a partly masked pattern and a row with no key.
    func testReferenceMatchesFiniteDifferences() throws {
        let shape = try AttentionShape(heads: 2, kvHeads: 1, queryLength: 5, keyLength: 4, headDim: 3)
        for pattern in ["full", "causal", "window:1:0"] {
            let mask = try AttentionMask(try MaskPattern(parsing: pattern), shape: shape)
            let inputs = AttentionInputs.random(shape: shape, seed: 11)
            let dO = AttentionGradients.randomOutputGradient(shape: shape, seed: 11)
            let g = dO.toArray().map(Double.init)
            let analytic = ReferenceAttention.backward(inputs, mask: mask, outputGradient: dO)
            func loss() -> Double {
                zip(ReferenceAttention.forward(inputs, mask: mask), g).reduce(0) { $0 + $1.0 * $1.1 }
            }
            for (tensor, gradient) in [
                (inputs.query, analytic.query), (inputs.key, analytic.key), (inputs.value, analytic.value),
            ] {
                for i in 0 ..< tensor.count {
                    let x = tensor.floats[i]
                    tensor.floats[i] = x + 1e-2
                    let up = loss()
                    tensor.floats[i] = x - 1e-2
                    let down = loss()
                    let step = Double(x + 1e-2) - Double(x - 1e-2)
                    tensor.floats[i] = x
                    let numeric = (up - down) / step
                    XCTAssertEqual(
                        gradient[i], numeric, accuracy: 1e-4 + 1e-3 * abs(numeric), "\(pattern) element \(i)")
                }
            }
        }
    }

    /// Causal with more queries than keys leaves the first rows with no key
    /// (bottom-right alignment): their dQ is zero, and they add nothing to dK or dV.
    func testRowsWithNoKeyHaveZeroGradients() throws {
        let shape = try AttentionShape(heads: 1, queryLength: 6, keyLength: 3, headDim: 4)
        let mask = try AttentionMask(.causal, shape: shape)
        let inputs = AttentionInputs.random(shape: shape, seed: 3)
        let dO = AttentionGradients.randomOutputGradient(shape: shape, seed: 3)
        let r = ReferenceAttention.backward(inputs, mask: mask, outputGradient: dO)
        XCTAssertEqual(Array(r.query[0 ..< 3 * 4]), [Double](repeating: 0, count: 12))
        XCTAssertGreaterThan(r.query[3 * 4 ..< 6 * 4].map(abs).max()!, 0)
        for strategy in Self.strategies where strategy.supports(.causal) {
            let run = try ReferenceCheck.backward(strategy, shape: shape, pattern: .causal, seed: 3)
            XCTAssert(run.withinTolerance, "\(Self.label(strategy)): \(run.description)")
        }
    }

    /// Strategies with a backward pass, once per tile kernel this CPU and build can run.
    static var strategies: [any AttentionStrategy] {
        StrategyCorrectnessTests.strategies.filter { $0.backwardUnavailability(precision: .f32) == nil }
    }

    static func label(_ s: any AttentionStrategy) -> String {
        s.name + (s.tileKernel.map { " [\($0)]" } ?? "")
    }

    func testEveryStrategyOnAwkwardShapes() throws {
        let shapes = [
            try AttentionShape(heads: 1, queryLength: 1, keyLength: 1, headDim: 1),
            try AttentionShape(heads: 2, queryLength: 1, keyLength: 77, headDim: 8),
            try AttentionShape(heads: 3, kvHeads: 1, queryLength: 53, keyLength: 97, headDim: 13),
            try AttentionShape(heads: 4, kvHeads: 2, queryLength: 130, keyLength: 130, headDim: 24),
            try AttentionShape(batch: 2, heads: 2, queryLength: 71, keyLength: 40, headDim: 7),
        ]
        XCTAssertFalse(Self.strategies.isEmpty)
        for strategy in Self.strategies {
            for (n, shape) in shapes.enumerated() {
                for pattern in StrategyCorrectnessTests.patterns {
                    let p = try MaskPattern(parsing: pattern)
                    guard strategy.supports(p) else { continue }
                    let run = try ReferenceCheck.backward(strategy, shape: shape, pattern: p, seed: UInt64(n))
                    XCTAssert(run.withinTolerance, "\(Self.label(strategy)) \(shape) \(pattern): \(run.description)")
                }
            }
        }
    }

    /// Tiles no length divides, and one worker against three.
    func testTilesThatDoNotDivide() throws {
        let shape = try AttentionShape(heads: 2, kvHeads: 1, queryLength: 203, keyLength: 157, headDim: 24)
        for tile in [(1, 1), (7, 5), (24, 40), (3, 300)] {
            for name in ["tiled", "sliding", "block-sparse"] {
                for kernel in KernelTable.available {
                    let options = StrategyOptions(tile: try TileSize(rows: tile.0, columns: tile.1), kernel: kernel)
                    let strategy = try StrategyRegistry.strategy(named: name, options: options)
                    for pattern in ["causal", "window:20:3:g4", "bigbird:16:causal"] {
                        let p = try MaskPattern(parsing: pattern)
                        guard strategy.supports(p) else { continue }
                        for threads in [1, 3] {
                            let run = try ReferenceCheck.backward(
                                strategy, shape: shape, pattern: p, seed: UInt64(tile.0), threads: threads)
                            XCTAssert(run.withinTolerance, "\(name) [\(kernel)] \(tile) \(pattern): \(run.description)")
                        }
                    }
                }
            }
        }
    }

    /// Half-precision inputs, and a strategy with no backward, are refused
    /// with the protocol's error, never computed wrongly.
    func testUnsupportedBackwardIsAnError() throws {
        let shape = try AttentionShape(heads: 1, queryLength: 4, headDim: 8)
        let mask = try AttentionMask(.full, shape: shape)
        let inputs = AttentionInputs.random(shape: shape, seed: 1, precision: .bf16)
        let saved = SavedForward(shape: shape, precision: .bf16)
        XCTAssertThrowsError(try TiledAttention().forward(inputs, mask: mask, saving: saved, threads: 1)) {
            XCTAssert("\($0)".contains("has no backward pass here: the backward pass takes f32 inputs"), "\($0)")
        }
    }
}
