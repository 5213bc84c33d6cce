import Foundation

/// Progress on stderr: on a terminal one line rewritten in place (case k of
/// n, what runs, elapsed, estimated time left); otherwise one plain line per
/// case, so logs stay readable.
final class ProgressReporter {
    let interactive = isatty(STDERR_FILENO) != 0
    let start = Stopwatch.now()
    /// Estimated work of every case (its ``CaseCost`` seconds; 0 for cases
    /// that do not run) and of the cases finished so far, for the time-left
    /// estimate.
    var caseWork: [Double] = []
    private var doneWork = 0.0

    func note(_ text: String) {
        if interactive { write("\r\u{1B}[2K") }
        write("attnbench: \(text)\n")
    }

    func caseStarted(_ k: Int, of n: Int, key: CaseKey) {
        guard interactive else { return }
        write("\r\u{1B}[2K[\(k)/\(n)] \(key)  elapsed \(Self.clock(elapsed))\(eta(done: k - 1, of: n))")
    }

    func caseDone(_ k: Int, of n: Int, key: CaseKey, status: String) {
        if k - 1 < caseWork.count { doneWork += caseWork[k - 1] }
        if interactive { write("\r\u{1B}[2K") }
        write("[\(k)/\(n)] \(key): \(status)  (elapsed \(Self.clock(elapsed))\(eta(done: k, of: n)))\n")
    }

    func finish() {
        if interactive { write("\r\u{1B}[2K") }
        write("attnbench: sweep finished in \(Self.clock(elapsed))\n")
    }

    private var elapsed: Double { Stopwatch.now() - start }

    /// Time left, assuming the remaining work goes at the rate seen so far
    /// (work: each case's predicted seconds).
    private func eta(done: Int, of n: Int) -> String {
        guard done > 0, done < n else { return "" }
        let total = caseWork.reduce(0, +)
        guard doneWork > 0, total > doneWork else { return "" }
        return ", ~\(Self.clock(elapsed * (total - doneWork) / doneWork)) left"
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%dh%02dm", s / 3600, s / 60 % 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
