import Attention
import AttentionTestSupport
import BenchHarness
import Foundation
import NumpyFormat
import XCTest

/// The peer protocol (docs/PEERS.md) end to end, with a fake peer written in
/// plain Python (Fixtures/fake_peer.py), so that it runs without PyTorch:
/// a row arrives verified, a wrong output is caught, a missing interpreter
/// or library gives `unsupported`, a crash gives `failed`.
final class PeerTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "peer-tests")
        for (name, mode) in Self.modes { try PeerRegistry.register(Self.fake(name, mode: mode)) }
        try PeerRegistry.register(
            Peer(
                name: "fake-missing", summary: "an interpreter that is not there", supportedKinds: Self.allKinds,
                computesEveryPair: false,
                command: PeerCommand(
                    interpreter: "/nonexistent/python3", script: Self.script, arguments: ["--mode", "ok"])))
        var narrow = Self.fake("fake-full-only", mode: "ok")
        narrow.supportedKinds = [.full]
        try PeerRegistry.register(narrow)
        var forward = Self.fake("fake-forward-pass", mode: "ok")
        forward.passes = [.forward]
        try PeerRegistry.register(forward)
    }

    override func tearDown() { directory.remove() }

    static let allKinds = Set(MaskPattern.Kind.allCases)
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fake_peer.py").path
    static let modes =
        [
            ("fake-ok", "ok"), ("fake-wrong", "wrong"), ("fake-crash", "crash"), ("fake-exit", "exit"),
            ("fake-unavailable", "unavailable"), ("fake-unsupported", "unsupported"), ("fake-garbage", "garbage"),
            ("fake-forward-only", "forward-only"),
        ] + lies.map { ("fake-\($0.mode)", $0.mode) }

    /// Replies that parse but must not become rows, and the reason each gets.
    static let lies: [(mode: String, reason: String)] = [
        ("negative-times", "has a time of -"), ("zero-times", "has a time of 0.0 ms"),
        ("nan-times", "printed no peer-protocol reply"),  // NaN is not JSON
        ("few-times", "has 1 timed runs; the repetition policy asks for 3 to 3"),
        ("many-times", "has 60 timed runs; the repetition policy asks for 3 to 3"),
        ("protocol-2", "speaks peer protocol 2; attnbench speaks 1"),
        ("negative-bytes", "has peak_rss_bytes -4096"), ("huge-bytes", "has rss_with_inputs_bytes 4611686018427387904"),
    ]

    static func fake(_ name: String, mode: String) -> Peer {
        Peer(
            name: name, summary: "the test peer, mode \(mode)", supportedKinds: allKinds, computesEveryPair: false,
            command: PeerCommand(interpreter: "python3", script: script, arguments: ["--mode", mode]),
            passes: Set(Pass.allCases))
    }

    func plan(
        _ strategies: [String], patterns: [String], lengths: [Int] = [7], kvLens: [Int]? = nil,
        dtypes: [Precision]? = nil, passes: [Pass]? = nil
    ) -> SweepPlan {
        SweepPlan(
            grid: SweepGrid(
                strategies: strategies, patterns: patterns, seqLens: lengths, kvLens: kvLens, headDims: [5],
                dtypes: dtypes, passes: passes, batch: 1, heads: 4, kvHeads: 2, threads: 1, tile: nil, seed: 11,
                repetitions: RepetitionPolicy(warmup: 1, minReps: 3, maxReps: 3, minTime: 0)),
            memoryLimitBytes: 1 << 34, timeoutSeconds: 60)
    }

    func sweep(_ plan: SweepPlan, _ name: String) throws -> (records: [SweepRecord], report: ReportFile) {
        let out = directory.path(name)
        let records = try SweepRunner(
            plan: plan, outputPath: out, resume: false, inProcess: true, calibrationSize: 64, bandwidthBytes: 1 << 20
        ).run()
        return (records, try ReportFile(path: out))
    }

    /// A peer row arrives with the schema's columns, the policy's runs, its
    /// own memory readings and a verification that passes: the peer read the
    /// same seeded inputs the reference used, on every pattern family,
    /// grouped heads and unequal lengths.
    func testARowArrivesVerified() throws {
        let patterns = ["full", "causal", "window:2:0:g1", "bigbird:3:w1:g1:r1"]
        let (records, report) = try sweep(
            plan(["fake-ok", "tiled"], patterns: patterns, lengths: [1, 7], kvLens: [5, 9]), "ok.csv")
        XCTAssertEqual(records.count, 2 * 2 * patterns.count * 2)
        XCTAssertEqual(report.header, ReportSchema.header)
        for row in report.rows where row["strategy"] == "fake-ok" {
            XCTAssertEqual(row["status"], "ok", "\(row["pattern"]!): \(row["reason"]!)")
            XCTAssertEqual(row["times_ms"]!.split(separator: ";").count, 3)
            XCTAssertLessThan(Double(row["rel_frobenius_error"]!)!, 1e-5)
            XCTAssertEqual(row["kernel"], "fake 1.0 naive ok")
            XCTAssertEqual(row["kernel_choice"], "peer")
            XCTAssertGreaterThan(Int(row["peak_rss_bytes"]!)!, 0)
            XCTAssertNotNil(Int(row["peak_extra_bytes"]!))
        }
        // The peer's output is the native strategy's, to float32 rounding.
        let shape = try AttentionShape(batch: 1, heads: 4, kvHeads: 2, queryLength: 7, keyLength: 9, headDim: 5)
        var outputs: [[Float]] = []
        for strategy in ["fake-ok", "tiled"] {
            let path = directory.path("\(strategy).npy")
            let config = CaseConfig(
                strategy: strategy, shape: shape, pattern: "causal", threads: 1, seed: 5,
                repetitions: .fixed(warmup: 0, reps: 1), verify: true)
            _ = try CaseRunner.run(config, saveOutput: path)
            outputs.append(try NumpyFile.read(path: path).values)
        }
        XCTAssertEqual(outputs[0].count, shape.queryElementCount)
        for (a, b) in zip(outputs[0], outputs[1]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// A peer's backward: its dQ, dK and dV, read back, match the float64
    /// reference's for the same dO on every pattern family with grouped
    /// heads, unequal lengths and rows with no key; the row carries the
    /// training tensors' bytes like a strategy's.
    func testABackwardRowArrivesVerified() throws {
        let patterns = ["full", "causal", "window:2:0:g1", "bigbird:3:w1:g1:r1"]
        let (records, report) = try sweep(
            plan(["fake-ok"], patterns: patterns, lengths: [1, 7], kvLens: [5], passes: [.backward, .both]),
            "backward.csv")
        XCTAssertEqual(records.count, patterns.count * 2 * 2)
        for row in report.rows {
            XCTAssertEqual(row["status"], "ok", "\(row["pattern"]!) \(row["pass"]!): \(row["reason"]!)")
            XCTAssertLessThan(Double(row["rel_frobenius_error"]!)!, 1e-5)
            XCTAssertGreaterThan(Int(row["saved_bytes"]!)!, 0)
            XCTAssertGreaterThan(Int(row["gradient_bytes"]!)!, 0)
        }
    }

    /// A wrong gradient is caught; a peer that ignores the request's pass
    /// (and would report a forward as a backward) fails; a peer without a
    /// backward, or a half-precision backward, is `unsupported`.
    func testABackwardThatIsWrongOrAbsentIsNoRow() throws {
        let (records, _) = try sweep(
            plan(["fake-wrong", "fake-forward-only", "fake-forward-pass"], patterns: ["causal"], passes: [.backward]),
            "backward-wrong.csv")
        XCTAssertEqual(records.map(\.status), [.wrong, .failed, .unsupported])
        XCTAssert(records[0].reason.contains("dQ"), records[0].reason)
        XCTAssert(
            records[1].reason.contains("timed the forward pass; the request asked for the backward pass"),
            records[1].reason)
        XCTAssertEqual(records[2].reason, "fake-forward-pass times the forward pass only, not backward")
        let (half, _) = try sweep(
            plan(["fake-ok"], patterns: ["full"], dtypes: [.bf16], passes: [.backward]), "backward-half.csv")
        XCTAssertEqual(half.map(\.status), [.unsupported])
        XCTAssert(half[0].reason.contains("the backward pass takes f32 inputs, not bf16"), half[0].reason)
    }

    func testAWrongOutputIsCaught() throws {
        let (records, _) = try sweep(plan(["fake-wrong"], patterns: ["full"]), "wrong.csv")
        XCTAssertEqual(records.map(\.status), [.wrong])
        XCTAssert(records[0].reason.contains("max abs error"), records[0].reason)
    }

    func testAMissingInterpreterOrLibraryIsUnsupported() throws {
        let (records, _) = try sweep(
            plan(["fake-missing", "fake-unavailable", "fake-unsupported", "fake-full-only"], patterns: ["causal"]),
            "missing.csv")
        XCTAssertEqual(records.map(\.status), [.unsupported, .unsupported, .unsupported, .unsupported])
        XCTAssert(records[0].reason.contains("interpreter /nonexistent/python3 not found"), records[0].reason)
        XCTAssert(records[1].reason.contains("No module named 'fake'"), records[1].reason)
        XCTAssert(records[2].reason.contains("the fake peer declines"), records[2].reason)
        XCTAssertEqual(records[3].reason, "fake-full-only supports full")
        XCTAssertThrowsError(
            try CaseRunner.run(
                CaseConfig(
                    strategy: "fake-missing", shape: try AttentionShape(heads: 1, queryLength: 4, headDim: 4),
                    pattern: "full",
                    threads: 1, repetitions: .fixed(warmup: 0, reps: 1), verify: true))
        ) { error in
            guard case PeerError.unsupported = error else { return XCTFail("\(error)") }
        }
    }

    /// A crash, an exit with an error and a reply that is not the protocol's
    /// are `failed` rows with the peer's last words; the sweep goes on.
    func testACrashIsFailed() throws {
        let (records, _) = try sweep(
            plan(["fake-crash", "fake-exit", "fake-garbage", "fake-ok"], patterns: ["full"]), "crash.csv")
        XCTAssertEqual(records.map(\.status), [.failed, .failed, .failed, .ok])
        XCTAssert(records[0].reason.contains("killed by signal 6"), records[0].reason)
        XCTAssert(records[0].reason.contains("about to abort"), records[0].reason)
        XCTAssert(records[1].reason.contains("exit status 3: fake peer: giving up on purpose"), records[1].reason)
        XCTAssert(records[2].reason.contains("no peer-protocol reply"), records[2].reason)
    }

    /// A reply is untrusted input: a wrong protocol version, times that are
    /// not finite and positive, a count the policy does not allow, or
    /// impossible byte counts fail the case with the reason.
    func testARepliesLiesAreFailedCases() throws {
        let names = Self.lies.map { "fake-\($0.mode)" }
        let (records, _) = try sweep(plan(names, patterns: ["full"]), "lies.csv")
        XCTAssertEqual(records.map(\.status), Array(repeating: .failed, count: names.count))
        for (record, lie) in zip(records, Self.lies) {
            XCTAssert(record.reason.contains(lie.reason), "\(lie.mode): \(record.reason)")
        }
    }

    func testRegistryRefusesANativeName() {
        XCTAssertThrowsError(try PeerRegistry.register(Self.fake("tiled", mode: "ok")))
        XCTAssertThrowsError(try PeerRegistry.register(Self.fake("torch-sdpa", mode: "ok")))
        XCTAssertThrowsError(try PeerRegistry.register(Self.fake("Bad Name", mode: "ok")))
    }
}
