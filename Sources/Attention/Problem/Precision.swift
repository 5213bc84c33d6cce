/// How the elements of Q, K, V and O are stored: float32, IEEE half
/// (`f16`: 1 sign, 5 exponent, 10 fraction bits) or bfloat16 (`bf16`: the
/// top 16 bits of a float32, 8 exponent and 7 fraction bits).
///
/// Storage only: every strategy widens what it loads to float32 and
/// accumulates in float32 (scores, running maximum and sum, the P·V
/// accumulator), and rounds once when it stores O. A value is rounded to a
/// half format to the nearest representable value, ties to even.
///
/// The unit roundoff u = 2⁻ᵖ (p the fraction bits + 1) bounds the relative
/// error of one rounding: 2⁻²⁴ for f32, 2⁻¹¹ ≈ 4.9e-4 for f16 and
/// 2⁻⁸ ≈ 3.9e-3 for bf16. f16's range ends at 65504 (larger values round
/// to ±∞) and below 6.1e-5 it is subnormal; bf16 has float32's range.
public enum Precision: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case f32
    case f16
    case bf16

    /// Bytes of one element.
    public var bytes: Int { self == .f32 ? 4 : 2 }

    /// The unit roundoff u: one rounding to this precision changes a
    /// (normal, in-range) value by a relative amount of at most u.
    public var unitRoundoff: Double {
        switch self {
        case .f32: 0x1p-24
        case .f16: 0x1p-11
        case .bf16: 0x1p-8
        }
    }

    /// `x` rounded to this precision and widened back to float32.
    @inlinable public func rounded(_ x: Float) -> Float {
        switch self {
        case .f32: x
        case .f16: Float(Float16(x))
        case .bf16: Float(BFloat16(x))
        }
    }

    public var description: String { rawValue }

    /// The allowed values, for messages: `f32, f16, bf16`.
    public static var allowedList: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Calls `body` with the storage element type of this precision, so
    /// that code generic over ``StorageElement`` is specialized per format.
    @inlinable public func dispatch<Body: PrecisionBody>(_ body: Body) -> Body.Result {
        switch self {
        case .f32: body.run(Float.self)
        case .f16: body.run(Float16.self)
        case .bf16: body.run(BFloat16.self)
        }
    }
}

/// Code run with the element type of a ``Precision`` (see
/// ``Precision/dispatch(_:)``): Swift has no generic closures.
public protocol PrecisionBody {
    associatedtype Result
    func run<E: StorageElement>(_ element: E.Type) -> Result
}
