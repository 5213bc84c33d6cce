import Attention

/// A strategy's output against the float64 reference.
public struct VerificationResult: Codable, Sendable, Equatable {
    /// max |o − r| over the checked elements; NaN when any output is not finite.
    public var maxAbsoluteError: Double
    /// ‖o − r‖_F / ‖r‖_F over the checked elements (‖o − r‖_F when r is all
    /// zero); NaN when any output is not finite.
    public var relativeFrobeniusError: Double
    /// Query rows checked per head, over all heads checked.
    public var checkedRows: Int
    /// `all rows` or a description of the sample.
    public var coverage: String
    /// NaN or infinite elements in the whole output (every row, not only
    /// the checked ones: a pass over the output is cheap); nil from builds
    /// that did not count them.
    public var nonFiniteOutputs: Int?

    public init(
        maxAbsoluteError: Double, relativeFrobeniusError: Double, checkedRows: Int, coverage: String,
        nonFiniteOutputs: Int? = nil
    ) {
        self.maxAbsoluteError = maxAbsoluteError
        self.relativeFrobeniusError = relativeFrobeniusError
        self.checkedRows = checkedRows
        self.coverage = coverage
        self.nonFiniteOutputs = nonFiniteOutputs
    }

    /// The tolerances of ``ReferenceError``, the one measure the harness and
    /// the tests share.
    public static let relativeTolerance = ReferenceError.relativeTolerance
    public static let absoluteTolerance = ReferenceError.absoluteTolerance

    /// Within both tolerances, with every output element finite (the rule of
    /// ``ReferenceError/withinTolerance``).
    public var passes: Bool {
        (nonFiniteOutputs ?? 0) == 0
            && relativeFrobeniusError <= Self.relativeTolerance && maxAbsoluteError <= Self.absoluteTolerance
    }

    /// The reason a case with `count` non-finite outputs is wrong.
    public static func nonFiniteReason(_ count: Int) -> String {
        "the output has \(count) NaN or infinite value\(count == 1 ? "" : "s") (inputs are finite, so a strategy produced them)"
    }
}

public enum Verification {
    /// Reference work above which only a sample of rows is checked:
    /// multiply-adds of the float64 reference (about 2 s in a release build).
    public static let fullReferenceBudget = 1 << 30

    /// Compares `output` with the reference.
    ///
    /// When `B·H·Nq·Nk·d` is at most ``fullReferenceBudget`` every row is
    /// checked. Otherwise the sample is: in the first and the last
    /// (batch, head), the first 8 query rows, the last 8, and 48 rows spread
    /// evenly between (every masked edge case of a pattern sits at the
    /// beginning or the end: causal's first rows, a window's borders, global
    /// tokens, partial last blocks).
    public static func verify(_ inputs: AttentionInputs, mask: AttentionMask, output: AlignedBuffer)
        -> VerificationResult
    {
        let s = inputs.shape
        let work = Double(s.batch * s.heads) * Double(s.queryLength) * Double(s.keyLength) * Double(s.headDim)
        var heads: [(Int, Int)] = []
        var rows: [Int]
        let coverage: String
        if work <= Double(fullReferenceBudget) {
            for b in 0 ..< s.batch { for h in 0 ..< s.heads { heads.append((b, h)) } }
            rows = Array(0 ..< s.queryLength)
            coverage = "all rows"
        } else {
            heads = [(0, 0)]
            if s.batch * s.heads > 1 { heads.append((s.batch - 1, s.heads - 1)) }
            rows = sampleRows(s.queryLength)
            coverage = "sample of \(rows.count) rows in \(heads.count) head(s)"
        }
        var error = ReferenceError()
        let d = s.headDim
        for (b, h) in heads {
            let reference = ReferenceAttention.outputRows(inputs, mask: mask, batch: b, head: h, rows: rows)
            let base = output.baseAddress + s.queryOffset(batch: b, head: h)
            for (n, i) in rows.enumerated() {
                for c in 0 ..< d { error.add(output: base[i * d + c], reference: reference[n * d + c]) }
            }
        }
        var nonFinite = 0
        for i in 0 ..< output.count where !output.baseAddress[i].isFinite { nonFinite += 1 }
        // A NaN or an infinity anywhere makes both errors NaN (they are
        // undefined, not 0), besides the whole-output count: no error column
        // of a wrong row can read as a pass.
        let undefined = error.nonFinite > 0 || nonFinite > 0
        return VerificationResult(
            maxAbsoluteError: undefined ? .nan : error.maxAbsolute,
            relativeFrobeniusError: undefined ? .nan : error.relativeFrobenius,
            checkedRows: rows.count * heads.count, coverage: coverage, nonFiniteOutputs: nonFinite)
    }

    /// The sampled rows: first 8, last 8, 48 evenly spaced; sorted, unique.
    public static func sampleRows(_ n: Int) -> [Int] {
        var set = Set(0 ..< min(8, n)).union(max(0, n - 8) ..< n)
        for k in 0 ..< 48 { set.insert(k * (n - 1) / 47) }
        return set.sorted()
    }
}
