import Foundation
import XCTest

/// Runs the built `attnbench` binary as a user would.
final class CLITests: XCTestCase {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The `attnbench: error:` lines on stderr.
        var errors: [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("attnbench: error:") } }
    }

    /// The `attnbench` product built beside the test runner (`swift test` builds it
    /// because this target depends on it).
    static var binary: URL {
        let candidates = [Bundle.main.executableURL, Bundle(for: CLITests.self).executableURL,
                          URL(fileURLWithPath: CommandLine.arguments[0])].compactMap { $0 }
        for c in candidates {
            var dir = c.deletingLastPathComponent()
            for _ in 0 ..< 3 {
                let url = dir.appendingPathComponent("attnbench")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
                dir = dir.deletingLastPathComponent()
            }
        }
        return URL(fileURLWithPath: ".build/release/attnbench")
    }

    func attnbench(_ arguments: String...) throws -> Outcome { try attnbench(arguments) }

    func testListShowsEveryStrategy() throws {
        let r = try attnbench("list")
        XCTAssertEqual(r.status, 0)
        for name in ["dense", "tiled", "sliding", "block-sparse"] { XCTAssert(r.stdout.contains(name), r.stdout) }
        XCTAssert(r.stdout.contains("patterns: full, causal, window, blocks"))
    }

    func testRunVerifiesAndPrintsJSON() throws {
        let r = try attnbench("run", "--strategy", "tiled", "--seq-len", "100", "--kv-len", "77", "--heads", "6",
                              "--kv-heads", "2", "--head-dim", "80", "--pattern", "causal", "--threads", "2",
                              "--reps", "2", "--verify", "--format", "json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let config = try XCTUnwrap(json["config"] as? [String: Any])
        XCTAssertEqual(config["strategy"] as? String, "tiled")
        XCTAssertEqual(config["pattern"] as? String, "causal")
        let shape = try XCTUnwrap(config["shape"] as? [String: Any])
        XCTAssertEqual(shape["kvHeads"] as? Int, 2)
        XCTAssertEqual(shape["keyLength"] as? Int, 77)
        XCTAssertEqual((json["timesMs"] as? [Double])?.count, 2)
        let verification = try XCTUnwrap(json["verification"] as? [String: Any])
        XCTAssertLessThan(try XCTUnwrap(verification["relativeFrobeniusError"] as? Double), 1e-5)
        XCTAssertEqual(verification["coverage"] as? String, "all rows")
        XCTAssertNotNil((json["blas"] as? [String: Any])?["core"] as? String)
    }

    func testRunTextReport() throws {
        let r = try attnbench("run", "--strategy", "dense", "--seq-len", "64", "--reps", "1", "--verify")
        XCTAssertEqual(r.status, 0, r.stderr)
        for field in ["median", "GFLOP/s", "rel Frobenius", "OK", "OpenBLAS"] { XCTAssert(r.stdout.contains(field), r.stdout) }
    }

    /// Each bad input: a non-zero exit and one error line that names the flag.
    func testBadInputGetsOneLineErrorNamingTheFlag() throws {
        let cases: [([String], String)] = [
            (["run", "--seq-len", "0"], "--seq-len must be at least 1"),
            (["run", "--seq-len", "8", "--head-dim=-3"], "--head-dim must be at least 1"),
            (["run", "--seq-len", "8", "--heads", "6", "--kv-heads", "4"], "--heads (6) must be a multiple of --kv-heads (4)"),
            (["run", "--seq-len", "8", "--strategy", "flash"], "unknown strategy 'flash' (known: dense, tiled, sliding, block-sparse)"),
            (["run", "--seq-len", "8", "--pattern", "window:x"], "--pattern"),
            (["run", "--seq-len", "8", "--pattern", "window:1:2:3"], "window takes one extent"),
            (["run", "--seq-len", "8", "--pattern", "diagonal"], "allowed: full, causal"),
            (["run", "--seq-len", "8", "--tile", "0x4"], "--tile"),
            (["run", "--seq-len", "8", "--threads", "0"], "--threads must be at least 1"),
            (["run", "--seq-len", "8", "--reps", "0"], "--reps must be at least 1"),
            (["run"], "--seq-len is required"),
            (["run", "--seq-len", "8", "--strategy", "sliding", "--pattern", "full"], "strategy 'sliding' does not support pattern 'full'"),
            (["run", "--seq-len", "8", "--pattern", "layout:/nonexistent/file"], "layout file '/nonexistent/file'"),
            (["run", "--seq-len", "8", "--format", "xml"], "--format"),
        ]
        for (arguments, expected) in cases {
            let r = try attnbench(arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertEqual(r.errors.count, 1, "\(arguments): \(r.stderr)")
            XCTAssert(r.errors.first?.contains(expected) == true, "\(arguments): \(r.stderr)")
        }
    }

    func attnbench(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }
}
