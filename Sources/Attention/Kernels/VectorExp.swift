/// `2^x` lane by lane, the exponential of every softmax here, at the width
/// of the kernel that calls it.
///
/// Softmax works in base 2: scores are pre-multiplied by log₂e, so
/// `e^(s − m) = 2^(s·log₂e − m·log₂e)`. Splitting `x = n + f` with `n` the
/// nearest integer and `f ∈ [−½, ½]`, `2^x = 2^n · 2^f`: `2^n` is built
/// directly in the exponent bits and `2^f` is its Taylor polynomial of
/// degree 6, evaluated with fused multiply-adds (relative error below
/// 1.3e-7, about one float ulp).
///
/// Edge cases: inputs are clamped to [−127, 127]; every input at or below
/// about −126.5, including −∞ (a masked score), gives exactly 0, because
/// `n = −127` makes the exponent field 0. NaN is not expected and not handled.
///
/// Why by hand: `Foundation.exp` is a scalar libm call per element, several
/// times slower than these few vector instructions; the clamps are compare-and-blend, the rounding
/// is the 1.5·2²³ "magic number" and the conversions are bit casts, because
/// the generic SIMD helpers for these are scalar loops.
@inlinable @inline(__always)
public func exp2<V: FloatVector>(_ x: V) -> V {
    exp2OfClamped(x.clamped(low: V(repeating: -127), high: V(repeating: 127)))
}

/// ``exp2(_:)`` for `x ≤ 0` (or −∞), the only inputs a softmax makes
/// (a score minus a maximum at least as large): only the lower clamp is
/// needed, one `max` instead of a compare and two blends per vector.
/// Positive inputs below 127 are still exact; above, the result is undefined.
@inlinable @inline(__always)
public func exp2<V: FloatVector>(nonPositive x: V) -> V {
    exp2OfClamped(x.maximum(V(repeating: -127)))
}

/// `2ⁿ · poly(f)` for `x` already in [−127, 127] (see ``exp2(_:)``).
@inlinable @inline(__always)
func exp2OfClamped<V: FloatVector>(_ x: V) -> V {
    let magic = V(repeating: 12_582_912)  // 1.5 · 2²³
    let shifted = x + magic  // n lands in the low mantissa bits
    let n = shifted - magic  // round(x), ties to even
    let f = x - n
    var p = V(repeating: 1.333_355_814_642_844_3e-3).addingProduct(V(repeating: 1.540_353_039_338_160_8e-4), f)
    p = V(repeating: 9.618_129_107_628_477e-3).addingProduct(p, f)  // (ln 2)⁴/4!
    p = V(repeating: 5.550_410_866_482_158e-2).addingProduct(p, f)  // (ln 2)³/3!
    p = V(repeating: 0.240_226_506_959_100_7).addingProduct(p, f)  // (ln 2)²/2!
    p = V(repeating: 0.693_147_180_559_945_3).addingProduct(p, f)  // ln 2
    p = V(repeating: 1).addingProduct(p, f)
    let nInt = unsafeBitCast(shifted, to: V.Bits.self) &- unsafeBitCast(magic, to: V.Bits.self)
    let twoToN = unsafeBitCast((nInt &+ 127) &<< 23, to: V.self)
    return p * twoToN
}

/// log₂e: scores scaled by it can go through ``exp2(_:)``.
public let log2e: Float = 1.442_695_040_888_963_4
