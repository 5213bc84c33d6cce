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
public struct ReferenceError: Sendable, Equatable, CustomStringConvertible {
    /// The largest ‖o − r‖_F / ‖r‖_F that passes.
    public static let relativeTolerance = 1e-5
    /// The largest max |o − r| that passes.
    public static let absoluteTolerance = 1e-4

    public private(set) var maxAbsolute = 0.0
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
        differenceSquares += e * e
        referenceSquares += r * r
    }

    public var relativeFrobenius: Double {
        referenceSquares > 0 ? (differenceSquares / referenceSquares).squareRoot() : differenceSquares.squareRoot()
    }

    /// Every output finite, and both errors within their tolerances.
    public var withinTolerance: Bool {
        nonFinite == 0 && maxAbsolute <= Self.absoluteTolerance && relativeFrobenius <= Self.relativeTolerance
    }

    public var description: String {
        "max abs \(maxAbsolute), rel Frobenius \(relativeFrobenius)"
            + (nonFinite > 0 ? ", \(nonFinite) NaN or infinite outputs" : "")
    }
}
