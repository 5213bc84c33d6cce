import Attention
import BenchHarness
import XCTest

/// `tune` per pass: a backward pass gets winners of its own, each verified
/// against the reference backward, and a case takes the winner of its pass.
final class TunerTests: XCTestCase {
    func testWinnersArePerPass() throws {
        let tuner = Tuner(
            strategies: ["tiled", "sliding"], headDims: [16], passes: [.forward, .backward],
            patterns: ["causal", "window:8"], seqLen: 48, heads: 2, threads: 2, reps: 1)
        var lines: [String] = []
        let file = try tuner.run { lines.append($0) }
        for pass in [Pass.forward, .backward] {
            let strategies = file.entries.filter { ($0.pass ?? .forward) == pass }.map(\.strategy).sorted()
            XCTAssertEqual(strategies, ["sliding", "tiled", "tiled"], "\(pass)")  // tiled also takes a window
        }
        XCTAssertEqual(lines.filter { $0.contains(" backward:") }.count, 3, "\(lines)")

        let causal = try MaskPattern(parsing: "causal")
        for pass in [Pass.forward, .backward] {
            let entry = try XCTUnwrap(
                file.entries.first { $0.strategy == "tiled" && $0.pattern == "causal" && ($0.pass ?? .forward) == pass }
            )
            let choice = try XCTUnwrap(file.choice(strategy: "tiled", headDim: 16, pattern: causal, pass: pass))
            XCTAssertEqual(choice.kernel, entry.kernel)
            XCTAssertEqual(choice.tile, entry.tile)
        }
        // No winner was measured for both passes together: such a case keeps the defaults.
        XCTAssertNil(file.choice(strategy: "tiled", headDim: 16, pattern: causal, pass: .both))

        // A file from before the pass axis names no pass: its entries are the forward's.
        var old = try XCTUnwrap(file.entries.first { $0.pass == .forward })
        old.pass = nil
        let legacy = TuningFile(
            cpuModel: file.cpuModel, kernelsAvailable: file.kernelsAvailable, threads: 2, entries: [old])
        XCTAssertNotNil(
            legacy.choice(strategy: old.strategy, headDim: 16, pattern: try MaskPattern(parsing: old.pattern)))
        XCTAssertNil(
            legacy.choice(
                strategy: old.strategy, headDim: 16, pattern: try MaskPattern(parsing: old.pattern), pass: .backward))
    }
}
