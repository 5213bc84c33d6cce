/// Row-wise vector helpers over unsafe float rows: one idea each, SIMD16 over
/// the body and scalar over the tail (scalar float loops do not vectorize
/// under strict IEEE ordering, so the accumulators are explicit).
///
/// `pointwiseMax` between two variables is lowered lane by lane with NaN
/// checks (measured 15x slower); a compare-and-replace becomes one `vmaxps`.
@usableFromInline enum RowOps {
    /// max over `row[0 ..< count]`; −∞ for an empty or fully masked row.
    @inline(__always) @usableFromInline
    static func max(_ row: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD16<Float>(repeating: -.infinity)
        var j = 0
        while j + 16 <= count {
            let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
            acc.replace(with: v, where: v .> acc)
            j += 16
        }
        var m = acc.max()
        while j < count { m = Swift.max(m, row[j]); j += 1 }
        return m
    }

    /// Replaces `row[j]` by `2^(row[j] − shift)` and returns the sum of the
    /// new values (the softmax numerators and their denominator).
    @inline(__always) @usableFromInline
    static func exp2InPlaceAndSum(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        let s = SIMD16<Float>(repeating: shift)
        var acc = SIMD16<Float>()
        var j = 0
        while j + 16 <= count {
            let p = exp2(UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self) - s)
            UnsafeMutableRawPointer(row + j).storeBytes(of: p, as: SIMD16<Float>.self)
            acc += p
            j += 16
        }
        if j < count {
            // The tail through a padded vector: lanes past `count` are −∞ → 0.
            var v = SIMD16<Float>(repeating: -.infinity)
            for l in 0 ..< count - j { v[l] = row[j + l] }
            let p = exp2(v - s)
            for l in 0 ..< count - j { row[j + l] = p[l] }
            acc += p
        }
        return acc.sum()
    }

    /// `row[0 ..< count] *= factor`.
    @inline(__always) @usableFromInline
    static func scale(_ row: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        let f = SIMD16<Float>(repeating: factor)
        var j = 0
        while j + 16 <= count {
            let p = UnsafeMutableRawPointer(row + j)
            p.storeBytes(of: p.loadUnaligned(as: SIMD16<Float>.self) * f, as: SIMD16<Float>.self)
            j += 16
        }
        while j < count { row[j] *= factor; j += 1 }
    }
}
