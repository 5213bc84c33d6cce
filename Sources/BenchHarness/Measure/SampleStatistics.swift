import Foundation

/// Why a set of samples cannot be summarized.
public enum SampleStatisticsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No samples were given.
    case empty
    /// The sample at `index` is NaN or infinite.
    case nonFinite(index: Int, value: Double)

    public var description: String {
        switch self {
        case .empty:
            return "no samples to summarize (allowed: one or more finite samples)"
        case .nonFinite(let index, let value):
            return "sample \(index) is \(value) (allowed: finite values)"
        }
    }
}

/// Summary statistics of a set of timing samples (milliseconds by
/// convention, though nothing here depends on the unit).
///
/// With the samples sorted ascending as x₀ ≤ x₁ ≤ … ≤ xₙ₋₁:
/// - `min` = x₀, `max` = xₙ₋₁;
/// - `mean` = (Σ xᵢ) / n;
/// - `median` = `percentile(50)`: the middle sample for odd n, the mean of
///   the two middle samples for even n;
/// - `standardDeviation` = √(Σ (xᵢ − mean)² / (n − 1)), the sample standard
///   deviation (Bessel's correction; numpy `std(ddof=1)`), and 0 when n = 1;
/// - `p10`, `p90` = `percentile(10)`, `percentile(90)`.
///
/// Empty input is rejected by the throwing initializer rather than a
/// precondition, since sample counts come from user-chosen repetition
/// policies; NaN and infinite samples are rejected as well.
///
/// The sorted samples are kept (and encoded), so percentiles other than the
/// stored ones and rank tests such as `mannWhitneyU` remain available on a
/// decoded value.
public struct SampleStatistics: Sendable, Codable, Equatable {
    /// Number of samples, n ≥ 1.
    public let count: Int
    public let min: Double
    public let max: Double
    public let mean: Double
    public let median: Double
    /// Sample standard deviation (divisor n − 1); 0 for a single sample.
    public let standardDeviation: Double
    /// 10th percentile, linear interpolation (see `percentile(_:)`).
    public let p10: Double
    /// 90th percentile, linear interpolation (see `percentile(_:)`).
    public let p90: Double
    /// The samples in ascending order.
    public let sortedSamples: [Double]

    /// Summarizes `samples` (in any order).
    ///
    /// - Throws: `SampleStatisticsError.empty` if `samples` is empty,
    ///   `SampleStatisticsError.nonFinite` if one is NaN or infinite.
    public init(_ samples: [Double]) throws {
        guard !samples.isEmpty else { throw SampleStatisticsError.empty }
        if let index = samples.firstIndex(where: { !$0.isFinite }) {
            throw SampleStatisticsError.nonFinite(index: index, value: samples[index])
        }
        let sorted = samples.sorted()
        let n = Double(sorted.count)
        // Two passes: the mean, then squared deviations from it, which keeps
        // the variance accurate when the spread is small next to the mean.
        let mean = sorted.reduce(0, +) / n
        let squares = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }

        sortedSamples = sorted
        count = sorted.count
        min = sorted[0]
        max = sorted[sorted.count - 1]
        self.mean = mean
        standardDeviation = sorted.count > 1 ? (squares / (n - 1)).squareRoot() : 0
        median = Self.percentile(50, ofSorted: sorted)
        p10 = Self.percentile(10, ofSorted: sorted)
        p90 = Self.percentile(90, ofSorted: sorted)
    }

    /// The `p`-th percentile, 0 ≤ p ≤ 100, by linear interpolation between
    /// the closest ranks (numpy's default `method='linear'`, Hyndman & Fan
    /// type 7): with h = (n − 1)·p/100, k = ⌊h⌋,
    /// result = x_k + (h − k)·(x_{k+1} − x_k). So `percentile(0)` is `min`,
    /// `percentile(100)` is `max`, and for n = 1 every percentile is the
    /// single sample.
    ///
    /// Precondition: 0 ≤ p ≤ 100.
    public func percentile(_ p: Double) -> Double {
        Self.percentile(p, ofSorted: sortedSamples)
    }

    /// `percentile(_:)` on an ascending, non-empty array.
    static func percentile(_ p: Double, ofSorted sorted: [Double]) -> Double {
        precondition(p >= 0 && p <= 100, "percentile \(p) is outside 0...100")
        precondition(!sorted.isEmpty)
        let h = Double(sorted.count - 1) * p / 100
        let k = Swift.min(Int(h.rounded(.down)), sorted.count - 1)
        let fraction = h - Double(k)
        guard fraction > 0, k + 1 < sorted.count else { return sorted[k] }
        return sorted[k] + fraction * (sorted[k + 1] - sorted[k])
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey {
        case count, min, max, mean, median, standardDeviation, p10, p90, sortedSamples
    }

    /// Decodes only `sortedSamples` and recomputes every summary from them,
    /// so a decoded value is always consistent; the other keys are written
    /// for readers of the JSON and ignored here.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let samples = try container.decode([Double].self, forKey: .sortedSamples)
        do {
            try self.init(samples)
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .sortedSamples, in: container, debugDescription: String(describing: error))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(min, forKey: .min)
        try container.encode(max, forKey: .max)
        try container.encode(mean, forKey: .mean)
        try container.encode(median, forKey: .median)
        try container.encode(standardDeviation, forKey: .standardDeviation)
        try container.encode(p10, forKey: .p10)
        try container.encode(p90, forKey: .p90)
        try container.encode(sortedSamples, forKey: .sortedSamples)
    }
}

// MARK: - Mann-Whitney U

extension SampleStatistics {
    /// Two-sided Mann-Whitney U (Wilcoxon rank-sum) test of whether values
    /// from `a` tend to be larger or smaller than values from `b`, by the
    /// normal approximation with tie and continuity corrections (as
    /// `scipy.stats.mannwhitneyu(a, b, method='asymptotic')`).
    ///
    /// With n₁ = |a|, n₂ = |b|, N = n₁ + n₂, pooled ranks (tied values get
    /// the mean of their ranks) and R₁ the sum of the ranks of `a`:
    /// - u = R₁ − n₁(n₁ + 1)/2, the number of pairs (x ∈ a, y ∈ b) with
    ///   x > y, ties counting ½; its mean under the null is μ = n₁n₂/2;
    /// - σ² = n₁n₂/12 · ((N + 1) − Σ(tⱼ³ − tⱼ)/(N(N − 1))), tⱼ the sizes of
    ///   the groups of tied values;
    /// - z = sign(u − μ) · max(|u − μ| − ½, 0) / σ, positive when `a` tends
    ///   to be larger;
    /// - pValue = 2·(1 − Φ(|z|)) = erfc(|z|/√2), at most 1.
    ///
    /// The approximation is meaningful for about 8 or more samples per side.
    /// Smaller samples still get finite values but the p-value is only rough
    /// and cannot get small: with 3 samples per side, even complete
    /// separation gives p ≈ 0.08, so a caller should require a minimum size
    /// before calling a difference significant. If either side is empty, or
    /// every value is the same (σ = 0), the result is u = the value above
    /// (0 when a side is empty), z = 0, pValue = 1.
    ///
    /// Precondition: all values are finite.
    public static func mannWhitneyU(_ a: [Double], _ b: [Double]) -> (u: Double, z: Double, pValue: Double) {
        precondition(
            a.allSatisfy(\.isFinite) && b.allSatisfy(\.isFinite),
            "Mann-Whitney U needs finite values")
        let n1 = Double(a.count), n2 = Double(b.count)
        guard !a.isEmpty, !b.isEmpty else { return (0, 0, 1) }

        // Pool, sort, and give each run of equal values its mean rank (1-based).
        let pooled = (a.map { ($0, true) } + b.map { ($0, false) }).sorted { $0.0 < $1.0 }
        var rankSumA = 0.0
        var tieTerm = 0.0
        var start = 0
        while start < pooled.count {
            var end = start + 1
            while end < pooled.count && pooled[end].0 == pooled[start].0 { end += 1 }
            let meanRank = Double(start + end + 1) / 2  // mean of ranks start+1 ... end
            for i in start ..< end where pooled[i].1 { rankSumA += meanRank }
            let t = Double(end - start)
            tieTerm += t * t * t - t
            start = end
        }

        let n = n1 + n2
        let u = rankSumA - n1 * (n1 + 1) / 2
        let mu = n1 * n2 / 2
        let variance = n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        guard variance > 0 else { return (u, 0, 1) }
        let deviation = Swift.max(abs(u - mu) - 0.5, 0)
        let z = deviation == 0 ? 0 : (u > mu ? 1 : -1) * deviation / variance.squareRoot()
        let pValue = Swift.min(1, erfc(abs(z) / 2.0.squareRoot()))
        return (u, z, pValue)
    }
}
