import ArgumentParser
import BenchHarness
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two sweep reports case by case; exit 1 on a regression, 2 on an input problem.",
        discussion: """
            A case regresses when its time ratio passes --threshold and a Mann-Whitney U test on the \
            per-repetition times says the samples differ (p < --alpha), when its peak extra memory \
            grows past --memory-threshold (and by more than 1 MiB), or when it now fails or is wrong.
            """)

    @Argument(help: "The baseline report (CSV written by attnbench sweep).")
    var baseline: String

    @Argument(help: "The current report.")
    var current: String

    @OptionGroup var rule: ComparisonFlags

    func run() throws {
        let report: ComparisonReport
        do {
            report = try ReportComparison.compare(
                baseline: try ReportFile(path: baseline),
                current: try ReportFile(path: current), options: rule.options)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        print(rule.render(report))
        if report.regressions > 0 { throw ExitCode(1) }
    }
}
