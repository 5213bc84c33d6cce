import Attention
import Foundation

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
    /// The storage precision of the checked output; nil (builds before the
    /// precision axis) is f32.
    public var precision: Precision?
    /// max |r| over the checked elements, which the absolute tolerance of a
    /// half-precision output scales with (``ReferenceError/absoluteTolerance(for:maxReference:)``).
    public var maxReference: Double?
    /// What the precision costs the user: ‖o − r₃₂‖_F / ‖r₃₂‖_F over the same
    /// elements, against the float64 reference of the unrounded float32
    /// problem. nil for f32 (it equals ``relativeFrobeniusError``) or when
    /// the unrounded problem is not known.
    public var storageRelativeError: Double?
    /// What rounding the inputs alone costs: ‖r − r₃₂‖_F / ‖r₃₂‖_F, both
    /// references in float64, the rounded problem's against the unrounded
    /// one's. ``storageRelativeError`` should stay within a small factor of
    /// it (the output's own rounding adds about u/3 in quadrature).
    public var roundingRelativeError: Double?
    /// Whether the checked elements are gradients (dQ, dK, dV), judged by
    /// ``ReferenceError/withinGradientTolerance``; nil (older builds) is no.
    public var gradients: Bool?

    public init(
        maxAbsoluteError: Double, relativeFrobeniusError: Double, checkedRows: Int, coverage: String,
        nonFiniteOutputs: Int? = nil, precision: Precision? = nil, maxReference: Double? = nil,
        storageRelativeError: Double? = nil, roundingRelativeError: Double? = nil, gradients: Bool? = nil
    ) {
        self.gradients = gradients
        self.precision = precision
        self.maxReference = maxReference
        self.storageRelativeError = storageRelativeError
        self.roundingRelativeError = roundingRelativeError
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

    /// The relative tolerance of this output's precision (of gradients, for gradients).
    public var relativeLimit: Double {
        gradients == true
            ? ReferenceError.gradientRelativeTolerance : ReferenceError.relativeTolerance(for: precision ?? .f32)
    }
    /// The absolute tolerance of this output's precision and reference.
    public var absoluteLimit: Double {
        gradients == true
            ? ReferenceError.gradientAbsoluteTolerance * (maxReference ?? 0) + 1e-5
            : ReferenceError.absoluteTolerance(for: precision ?? .f32, maxReference: maxReference ?? 0)
    }

    /// Within both tolerances of the output's precision, with every output
    /// element finite (the rule of ``ReferenceError/withinTolerance(for:)``).
    public var passes: Bool {
        (nonFiniteOutputs ?? 0) == 0 && relativeFrobeniusError <= relativeLimit && maxAbsoluteError <= absoluteLimit
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
    ///
    /// With `unrounded`, the float32 problem that `inputs` rounds, the same
    /// rows are also judged against its reference: what the precision costs
    /// (``VerificationResult/storageRelativeError``), beside what rounding
    /// the inputs costs (``VerificationResult/roundingRelativeError``).
    public static func verify(
        _ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, unrounded: AttentionInputs? = nil
    ) -> VerificationResult {
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
        var error = ReferenceError(), storage = ReferenceError(), rounding = ReferenceError()
        let d = s.headDim
        let judgesStorage = unrounded != nil && inputs.precision != .f32
        var row = [Float](repeating: 0, count: d)
        for (b, h) in heads {
            let reference = ReferenceAttention.outputRows(inputs, mask: mask, batch: b, head: h, rows: rows)
            let exact =
                judgesStorage
                ? ReferenceAttention.outputRows(unrounded!, mask: mask, batch: b, head: h, rows: rows) : []
            let base = s.queryOffset(batch: b, head: h)
            for (n, i) in rows.enumerated() {
                output.read(d, at: base + i * d, into: &row)
                for c in 0 ..< d { error.add(output: row[c], reference: reference[n * d + c]) }
                guard judgesStorage else { continue }
                for c in 0 ..< d {
                    storage.add(output: row[c], reference: exact[n * d + c])
                    rounding.add(reference: reference[n * d + c], exact: exact[n * d + c])
                }
            }
        }
        var nonFinite = 0
        output.forEachChunk { range, scratch in
            output.read(range.count, at: range.lowerBound, into: scratch)
            for i in 0 ..< range.count where !scratch[i].isFinite { nonFinite += 1 }
        }
        // A NaN or an infinity anywhere makes both errors NaN (they are
        // undefined, not 0), besides the whole-output count: no error column
        // of a wrong row can read as a pass.
        let undefined = error.nonFinite > 0 || nonFinite > 0
        return VerificationResult(
            maxAbsoluteError: undefined ? .nan : error.maxAbsolute,
            relativeFrobeniusError: undefined ? .nan : error.relativeFrobenius,
            checkedRows: rows.count * heads.count, coverage: coverage, nonFiniteOutputs: nonFinite,
            precision: inputs.precision, maxReference: error.maxReference,
            storageRelativeError: judgesStorage ? (undefined ? .nan : storage.relativeFrobenius) : nil,
            roundingRelativeError: judgesStorage ? rounding.relativeFrobenius : nil)
    }

    /// Compares the gradients of a backward pass with
    /// ``ReferenceAttention/backward(_:mask:outputGradient:heads:rows:)``,
    /// each of dQ, dK and dV on its own; the result carries the worst of the
    /// three (by its share of the tolerance) and names it.
    ///
    /// Coverage: every head when `B·H·Nq·Nk·d` is at most
    /// ``fullReferenceBudget``; otherwise every query head of the first
    /// (batch, key/value head) when that group is at most four budgets, so
    /// its dK and dV are exact; otherwise dQ alone, on the rows
    /// ``sampleRows(_:)`` picks in the first head (each key's dK and dV needs
    /// every query row of the group, beyond the budget).
    public static func verifyGradients(
        _ inputs: AttentionInputs, mask: AttentionMask, outputGradient: Tensor, gradients: AttentionGradients
    ) -> VerificationResult {
        let s = inputs.shape
        let perHead = Double(s.queryLength) * Double(s.keyLength) * Double(s.headDim)
        let heads: [(Int, Int)]?, rows: [Int]?, coverage: String, checksKeys: Bool
        if Double(s.batch * s.heads) * perHead <= Double(fullReferenceBudget) {
            (heads, rows, coverage, checksKeys) = (nil, nil, "dQ, dK, dV of every head", true)
        } else if Double(s.groupSize) * perHead <= 4 * Double(fullReferenceBudget) {
            heads = (0 ..< s.groupSize).map { (0, $0) }
            (rows, coverage, checksKeys) = (nil, "dQ, dK, dV of the first key/value head's query heads", true)
        } else {
            let sample = sampleRows(s.queryLength)
            (heads, rows, checksKeys) = ([(0, 0)], sample, false)
            coverage = "dQ of \(sample.count) rows of the first head (dK, dV not checked at this size)"
        }
        let reference = ReferenceAttention.backward(
            inputs, mask: mask, outputGradient: outputGradient, heads: heads, rows: rows)
        let d = s.headDim
        // The elements compared: the checked query rows, and the key rows of the first key/value head (or all).
        var queryIndices: [Int] = []
        for (b, h) in heads ?? (0 ..< s.batch).flatMap({ b in (0 ..< s.heads).map { (b, $0) } }) {
            let base = s.queryOffset(batch: b, head: h)
            for i in rows ?? Array(0 ..< s.queryLength) { queryIndices += (base + i * d) ..< (base + (i + 1) * d) }
        }
        let keyIndices = !checksKeys ? [] : Array(0 ..< (heads == nil ? s.keyElementCount : s.keyLength * d))
        func error(_ t: Tensor, _ r: [Double], _ indices: [Int]) -> ReferenceError {
            var e = ReferenceError()
            for i in indices { e.add(output: t.floats[i], reference: r[i]) }
            return e
        }
        var checked = [("dQ", error(gradients.query, reference.query, queryIndices))]
        if checksKeys {
            checked.append(("dK", error(gradients.key, reference.key, keyIndices)))
            checked.append(("dV", error(gradients.value, reference.value, keyIndices)))
        }
        func share(_ e: ReferenceError) -> Double {
            max(
                e.relativeFrobenius / ReferenceError.gradientRelativeTolerance,
                e.maxAbsolute / (ReferenceError.gradientAbsoluteTolerance * e.maxReference + 1e-5))
        }
        let (name, worst) = checked.max { share($0.1) < share($1.1) }!
        var nonFinite = 0
        for t in [gradients.query, gradients.key, gradients.value] {
            for i in 0 ..< t.count where !t.floats[i].isFinite { nonFinite += 1 }
        }
        let undefined = nonFinite > 0 || checked.contains { $0.1.nonFinite > 0 }
        let detail = checked.map {
            "\($0.0) \(String(format: "%.2g / %.2g", $0.1.maxAbsolute, $0.1.relativeFrobenius))"
        }
        return VerificationResult(
            maxAbsoluteError: undefined ? .nan : worst.maxAbsolute,
            relativeFrobeniusError: undefined ? .nan : worst.relativeFrobenius,
            checkedRows: queryIndices.count / d,
            coverage: "\(coverage); worst \(name); max abs / rel Frobenius: \(detail.joined(separator: ", "))",
            nonFiniteOutputs: nonFinite, precision: inputs.precision, maxReference: worst.maxReference,
            gradients: true)
    }

    /// The sampled rows: first 8, last 8, 48 evenly spaced; sorted, unique.
    public static func sampleRows(_ n: Int) -> [Int] {
        var set = Set(0 ..< min(8, n)).union(max(0, n - 8) ..< n)
        for k in 0 ..< 48 { set.insert(k * (n - 1) / 47) }
        return set.sorted()
    }
}
