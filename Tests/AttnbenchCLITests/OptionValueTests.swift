import ArgumentParser
import Foundation
import XCTest

@testable import attnbench

/// One wording for numbers everywhere: every option of every command takes
/// the next word as its value even when it starts with `-`, so a negative
/// or malformed value is judged as a value ("must be at least 1, got -5"),
/// never reported as a missing one.
final class OptionValueTests: XCTestCase {
    /// Every option's long name, per command, from the parser's own description.
    static func optionsByCommand() throws -> [(command: String, option: String)] {
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = ["--experimental-dump-help"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let command = try XCTUnwrap(root["command"] as? [String: Any])
        var found: [(String, String)] = []
        for sub in command["subcommands"] as? [[String: Any]] ?? [] {
            let name = try XCTUnwrap(sub["commandName"] as? String)
            for argument in sub["arguments"] as? [[String: Any]] ?? [] where argument["kind"] as? String == "option" {
                for n in argument["names"] as? [[String: Any]] ?? [] where n["kind"] as? String == "long" {
                    found.append((name, try XCTUnwrap(n["name"] as? String)))
                }
            }
        }
        return found
    }

    func testEveryOptionTakesAValueThatStartsWithADash() throws {
        let options = try Self.optionsByCommand()
        XCTAssertGreaterThan(options.count, 40, "the parser's description lists the options")
        for (command, option) in options {
            for value in ["-5", "-1x4", "-5%"] {
                do { _ = try Attnbench.parseAsRoot([command, "--\(option)", value]) } catch {
                    let message = Attnbench.message(for: error)
                    XCTAssertFalse(message.contains("Missing value"), "\(command) --\(option) \(value): \(message)")
                }
            }
        }
    }

    /// The values users typed, each refused naming the flag and what is allowed.
    func testNegativeValuesAreJudgedAsValues() throws {
        let cases: [([String], String)] = [
            (["sweep", "--seq-lens", "-5"], "--seq-lens '-5' must be a comma list of lengths ≥ 1"),
            (["sweep", "--kv-lens", "-5"], "--kv-lens '-5' must be a comma list of lengths ≥ 1"),
            (["sweep", "--head-dims", "-5"], "--head-dims '-5' must be a comma list of integers ≥ 1"),
            (["sweep", "--memory-limit", "-1G"], "--memory-limit '-1G' must be a size"),
            (["sweep", "--shard", "-1/2"], "--shard"),
            (["sweep", "--tile", "-1x4"], "tile '-1x4' must be ROWSxCOLUMNS with both ≥ 1"),
            (["run", "--seq-len", "8", "--tile", "-1x4"], "tile '-1x4' must be ROWSxCOLUMNS with both ≥ 1"),
            (["compare", "a.csv", "b.csv", "--threshold", "-5%"], "must be a percentage"),
            (["compare", "a.csv", "b.csv", "--memory-threshold", "-5%"], "must be a percentage"),
            (["tune", "--seq-len", "-1"], "--seq-len must be at least 1, got -1"),
            (["tune", "--reps", "-3"], "--reps must be at least 1, got -3"),
            (["ab", "--baseline-binary", "x", "--rounds", "-2"], "--rounds must be at least 1, got -2"),
            (
                ["sweep", "--preset", "decode", "--kv-heads", "3"],
                "the decode preset's --heads (32) must be a multiple of --kv-heads (3)"
            ),
        ]
        for (arguments, expected) in cases {
            XCTAssertThrowsError(try Attnbench.parseAsRoot(arguments), "\(arguments)") { error in
                let message = Attnbench.message(for: error)
                XCTAssert(message.contains(expected), "\(arguments): \(message)")
                XCTAssertFalse(message.contains("Missing value"), "\(arguments): \(message)")
            }
        }
    }
}
