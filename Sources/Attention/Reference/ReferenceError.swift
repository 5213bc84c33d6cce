/// How far a float32 output is from the float64 reference, and the rule
/// every strategy is held to: one measure for the harness's verification and
/// for the tests.
///
///     maxAbsolute       = max |o − r|
///     relativeFrobenius = ‖o − r‖_F / ‖r‖_F   (‖o − r‖_F when r is all zero)
///
/// over the finite outputs added; NaN and infinite outputs are counted in
/// ``nonFinite`` instead and fail the rule on their own. Add pairs with
/// ``add(output:reference:)``.
///
/// The tolerances hold on standard normal inputs: float32 accumulation of
/// softmax-weighted sums of O(1) values stays near 1e-6 relative, so 1e-5
/// relative and 1e-4 absolute leave room for any summation order and still
/// catch a wrong or missing key (an error of order 1e-2 and up).
///
/// In half precision the reference is computed on the rounded inputs, so
/// the only error left beyond float32 accumulation is the one rounding of
/// O as it is stored: at most u·|o| per element (``Precision/unitRoundoff``).
/// Each element's error is then at most the float32 error plus u·|r|, so the
/// rules widen by exactly that: relative 1e-5 + u, absolute 1e-4 + u·max|r|
/// (``withinTolerance(for:)``). For f32 this adds 2⁻²⁴, nothing.
public struct ReferenceError: Sendable, Equatable, CustomStringConvertible {
    /// The largest ‖o − r‖_F / ‖r‖_F that passes.
    public static let relativeTolerance = 1e-5
    /// The largest max |o − r| that passes.
    public static let absoluteTolerance = 1e-4

    public private(set) var maxAbsolute = 0.0
    /// max |r| over the finite outputs added.
    public private(set) var maxReference = 0.0
    /// NaN or infinite outputs among those added.
    public private(set) var nonFinite = 0
    private var differenceSquares = 0.0
    private var referenceSquares = 0.0

    public init() {}

    /// The error of `output` against `reference`, element by element.
    public init(_ output: [Float], _ reference: [Double]) {
        precondition(output.count == reference.count, "output and reference differ in length")
        for (o, r) in zip(output, reference) { add(output: o, reference: r) }
    }

    /// Adds one output element and its reference value.
    @inline(__always)
    public mutating func add(output o: Float, reference r: Double) {
        guard o.isFinite else {
            nonFinite += 1
            return
        }
        let e = Double(o) - r
        maxAbsolute = max(maxAbsolute, abs(e))
        maxReference = max(maxReference, abs(r))
        differenceSquares += e * e
        referenceSquares += r * r
    }

    /// Adds one float64 value against the exact one (two references, for
    /// what rounding the inputs alone costs).
    @inline(__always)
    public mutating func add(reference r: Double, exact x: Double) {
        let e = r - x
        maxAbsolute = max(maxAbsolute, abs(e))
        maxReference = max(maxReference, abs(x))
        differenceSquares += e * e
        referenceSquares += x * x
    }

    public var relativeFrobenius: Double {
        referenceSquares > 0 ? (differenceSquares / referenceSquares).squareRoot() : differenceSquares.squareRoot()
    }

    /// Every output finite, and both errors within the float32 tolerances.
    public var withinTolerance: Bool { withinTolerance(for: .f32) }

    /// The largest relative Frobenius error that passes for an output stored in `precision`.
    public static func relativeTolerance(for precision: Precision) -> Double {
        relativeTolerance + precision.unitRoundoff
    }

    /// The largest max |o − r| that passes for an output stored in
    /// `precision` whose reference's largest element is `maxReference`.
    public static func absoluteTolerance(for precision: Precision, maxReference: Double) -> Double {
        absoluteTolerance + precision.unitRoundoff * maxReference
    }

    /// Every output finite, and both errors within the tolerances of an
    /// output stored in `precision`.
    public func withinTolerance(for precision: Precision) -> Bool {
        nonFinite == 0 && relativeFrobenius <= Self.relativeTolerance(for: precision)
            && maxAbsolute <= Self.absoluteTolerance(for: precision, maxReference: maxReference)
    }

    /// The largest relative Frobenius error of a gradient that passes.
    public static let gradientRelativeTolerance = 1e-4
    /// The largest max |g − r| of a gradient that passes, relative to max |r|.
    public static let gradientAbsoluteTolerance = 1e-4

    /// Every gradient element finite, its relative Frobenius error at most
    /// 1e-4 and its largest error at most 1e-4·max|r| + 1e-5. Why looser
    /// than the forward's: the gradients sum float32 products over every
    /// query row (dK, dV) or key (dQ), and `dS = P ∘ (dP − D)` cancels: where
    /// a row attends one key, `dP = D` and the exact dS is 0, so what is left
    /// is the rounding of two O(√d) dot products (about 1e-6 absolute at
    /// d = 24). The measured errors and the margin are in docs/DECISIONS.md.
    public var withinGradientTolerance: Bool {
        nonFinite == 0 && relativeFrobenius <= Self.gradientRelativeTolerance
            && maxAbsolute <= Self.gradientAbsoluteTolerance * maxReference + 1e-5
    }

    public var description: String {
        "max abs \(maxAbsolute), rel Frobenius \(relativeFrobenius)"
            + (nonFinite > 0 ? ", \(nonFinite) NaN or infinite outputs" : "")
    }
}
