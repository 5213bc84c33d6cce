import ArgumentParser
import BenchHarness
import Foundation

struct ABCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ab",
        abstract:
            "Measure two builds side by side on one grid (alternating per case) and compare them; exit 1 on a regression, 2 when a build cannot run.",
        discussion: """
            Each case runs in --rounds rounds; in each round both builds run it, each in its own child process, \
            in the order A B, B A, A B, B A, … (the side that starts alternates per case), so that the machine's \
            drift falls on both alike. \
            The rounds' times are pooled per build, written to OUT-DIR/baseline.csv and OUT-DIR/current.csv, \
            and compared with the rule of `attnbench compare`. Suspect cases (regressions, changes beyond the \
            threshold that were not significant, verdicts reached while the machine was disturbed, failures on one \
            side only) are measured again, up to --retries times, and judged on all their rounds together.
            """)

    @Option(
        name: .customLong("baseline-binary"),
        parsing: .unconditional,
        help: "The attnbench build to compare against (for example one built from the base revision).")
    var baselineBinary: String

    @Option(
        name: .customLong("current-binary"), parsing: .unconditional,
        help: "The build under test (default: this program).")
    var currentBinary: String?

    @Option(
        name: .customLong("baseline-label"),
        parsing: .unconditional,
        help: "A name for the baseline in the reports, such as its revision (default: its path).")
    var baselineLabel: String?

    @Option(
        name: .customLong("current-label"), parsing: .unconditional,
        help: "A name for the current build (default: its path).")
    var currentLabel: String?

    @OptionGroup var grid: GridOptions

    @Option(
        parsing: .unconditional,
        help:
            "Rounds per case (even numbers balance the order); each round runs both builds once, with 1/rounds of the repetitions."
    )
    var rounds: Int = 4

    @Option(
        parsing: .unconditional,
        help: "Times a regression (or a verdict reached while the machine was disturbed) is measured again.")
    var retries: Int = 2

    @Option(
        name: .customLong("out-dir"),
        parsing: .unconditional,
        help: "Where baseline.csv and current.csv (and their .json) are written; must not hold them already.")
    var outDir: String = "results/ab"

    @OptionGroup var rule: ComparisonFlags

    func validate() throws {
        if rounds < 1 { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        if retries < 0 { throw ValidationError("--retries must be 0 or more, got \(retries)") }
    }

    func run() throws {
        // A build that is not there cannot run: exit 2, like one that fails.
        for (flag, path) in [("--baseline-binary", baselineBinary), ("--current-binary", currentBinary)] {
            guard let path, !FileManager.default.isExecutableFile(atPath: path) else { continue }
            printError("\(flag) '\(path)' is not an executable file")
            throw ExitCode(2)
        }
        let current = currentBinary ?? ChildProcess.currentExecutable
        let runner = ABRunner(
            plan: try grid.plan(),
            baseline: .init(
                executable: baselineBinary, label: baselineLabel ?? baselineBinary,
                outputPath: (outDir as NSString).appendingPathComponent("baseline.csv")),
            current: .init(
                executable: current, label: currentLabel ?? current,
                outputPath: (outDir as NSString).appendingPathComponent("current.csv")),
            rounds: rounds, retries: retries, options: rule.options)
        let outcome: ABRunner.Outcome
        do { outcome = try runner.run() } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        print(rule.render(outcome.comparison))
        if let warning = outcome.calibrationWarning { print("\nwarning: \(warning)") }
        if outcome.comparison.regressions > 0 { throw ExitCode(1) }
    }
}
