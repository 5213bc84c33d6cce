/// Row-wise vector helpers over unsafe float rows, at the width `V` of the
/// kernel in use: one idea each, whole vectors over the body and the tail
/// through a padded vector (scalar float loops do not vectorize under strict
/// IEEE ordering, so the accumulators are explicit).
@usableFromInline enum RowOps<V: FloatVector> {
    /// max over `row[0 ..< count]`; −∞ for an empty or fully masked row.
    @inline(__always) @usableFromInline
    static func max(_ row: UnsafePointer<Float>, count: Int) -> Float {
        // Two independent maxima: one chain would wait on each compare.
        var acc0 = V(repeating: -.infinity), acc1 = acc0
        var j = 0
        while j + 2 * V.scalarCount <= count {
            acc0 = acc0.maximum(V.load(row + j))
            acc1 = acc1.maximum(V.load(row + j + V.scalarCount))
            j += 2 * V.scalarCount
        }
        if j + V.scalarCount <= count {
            acc0 = acc0.maximum(V.load(row + j))
            j += V.scalarCount
        }
        var m = acc0.maximum(acc1).max()
        while j < count {
            m = Swift.max(m, row[j])
            j += 1
        }
        return m
    }

    /// Replaces `row[j]` by `2^(row[j] − shift)` and returns the sum of the
    /// new values (the softmax numerators and their denominator).
    @inline(__always) @usableFromInline
    static func exp2InPlaceAndSum(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        let s = V(repeating: shift)
        var acc = V()
        var j = 0
        while j + V.scalarCount <= count {
            let p = exp2(nonPositive: V.load(row + j) - s)
            p.store(to: row + j)
            acc += p
            j += V.scalarCount
        }
        if j < count {
            // The tail through a padded vector: lanes past `count` are −∞ → 0.
            var v = V(repeating: -.infinity)
            for l in 0 ..< count - j { v[l] = row[j + l] }
            let p = exp2(nonPositive: v - s)
            for l in 0 ..< count - j { row[j + l] = p[l] }
            acc += p
        }
        return acc.sum()
    }

    /// `row[0 ..< count] *= factor`.
    @inline(__always) @usableFromInline
    static func scale(_ row: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        let f = V(repeating: factor)
        var j = 0
        while j + V.scalarCount <= count {
            (V.load(row + j) * f).store(to: row + j)
            j += V.scalarCount
        }
        while j < count {
            row[j] *= factor
            j += 1
        }
    }
}
