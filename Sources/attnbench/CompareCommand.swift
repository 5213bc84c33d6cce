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

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown }

    @Argument(help: "The baseline report (CSV written by attnbench sweep).")
    var baseline: String

    @Argument(help: "The current report.")
    var current: String

    @Option(help: "Time ratio beyond which a significant change counts (e.g. 10% or 0.1).", transform: parsePercent)
    var threshold: Double = 0.10

    @Option(name: .customLong("memory-threshold"), help: "The same for peak extra memory.", transform: parsePercent)
    var memoryThreshold: Double = 0.10

    @Option(help: "Significance level of the Mann-Whitney U test.")
    var alpha: Double = 0.05

    @Option(help: "normalized (times × each report's sgemm rate) or median (raw ms).")
    var metric: ComparisonOptions.Metric = .normalized

    @Option(help: "text or markdown (for a pull-request comment).")
    var format: Format = .text

    func validate() throws {
        if !(alpha > 0 && alpha < 1) { throw ValidationError("--alpha must be between 0 and 1, got \(alpha)") }
    }

    func run() throws {
        var options = ComparisonOptions()
        options.threshold = threshold
        options.memoryThreshold = memoryThreshold
        options.alpha = alpha
        options.metric = metric
        let report: ComparisonReport
        do {
            report = try ReportComparison.compare(baseline: try ReportFile(path: baseline),
                                                  current: try ReportFile(path: current), options: options)
        } catch {
            FileHandle.standardError.write(Data("attnbench: error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(format == .markdown ? report.markdown() : report.text())
        if report.regressions > 0 { throw ExitCode(1) }
    }
}

extension ComparisonOptions.Metric: ExpressibleByArgument {}

/// `10%` or the fraction `0.1`.
func parsePercent(_ text: String) throws -> Double {
    let percent = text.hasSuffix("%")
    guard let v = Double(percent ? String(text.dropLast()) : text), v >= 0, v.isFinite, percent || v < 1 else {
        throw ValidationError("'\(text)' must be a percentage such as 10% or a fraction below 1 such as 0.1")
    }
    return percent ? v / 100 : v
}
