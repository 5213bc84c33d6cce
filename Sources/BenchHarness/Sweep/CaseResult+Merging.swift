import Attention

extension CaseResult {
    /// One result from several measurements of the same case (the rounds of
    /// an A/B run, each in its own process).
    ///
    /// - Times: every repetition of every part, in order, and how many each
    ///   process gave (`roundSizes`; a part that pools processes already
    ///   has them); the statistics and the rates are recomputed from them.
    /// - Memory: the part with the median `peakExtraBytes` (the lower median
    ///   for an even count), with the rest of its memory figures, so that one
    ///   process's figures stay together.
    /// - Verification: the first part that failed it, else the first that verified.
    /// - The configuration: `config`, the policy the parts were split from.
    ///
    /// Precondition: `parts` is not empty.
    static func merged(_ parts: [CaseResult], config: CaseConfig) throws -> CaseResult {
        precondition(!parts.isEmpty)
        var out = parts.sorted { $0.peakExtraBytes < $1.peakExtraBytes }[(parts.count - 1) / 2]
        out.config = config
        out.timesMs = parts.flatMap(\.timesMs)
        out.roundSizes = parts.flatMap { $0.roundSizes ?? [$0.timesMs.count] }
        out.statistics = try SampleStatistics(out.timesMs)
        let seconds = out.statistics.median * 1e-3
        out.usefulGflops = out.usefulFlops / seconds / 1e9
        out.tokensPerSecond = Double(config.shape.batch * config.shape.queryLength) / seconds
        let verified = parts.compactMap(\.verification)
        out.verification = verified.first { !$0.passes } ?? verified.first
        out.sgemmGflops = nil
        out.fractionOfSgemm = nil
        return out
    }
}

extension RepetitionPolicy {
    /// The policy of one of `parts` processes that together give at least
    /// this policy's repetitions and time: ⌈minReps/parts⌉ and ⌈maxReps/parts⌉
    /// runs, minTime/parts seconds, and the full warm-up in each (every
    /// process starts cold).
    func split(into parts: Int) -> RepetitionPolicy {
        let n = max(1, parts)
        return RepetitionPolicy(
            warmup: warmup, minReps: (minReps + n - 1) / n, maxReps: (maxReps + n - 1) / n,
            minTime: minTime / Double(n))
    }
}
