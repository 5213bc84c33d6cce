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

    /// Replaces `row[j]` by `2^(row[j] − shift)`: the backward pass's
    /// probabilities from the saved log-sum-exp (`shift = log₂e·L`, so no
    /// sum is needed). A row with nothing attended (`shift = −∞`) becomes
    /// zeros, where the subtraction would give NaN.
    @inline(__always) @usableFromInline
    static func exp2InPlace(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) {
        guard shift > -.infinity else {
            row.update(repeating: 0, count: count)
            return
        }
        let s = V(repeating: shift)
        var j = 0
        while j + V.scalarCount <= count {
            exp2(V.load(row + j) - s).store(to: row + j)
            j += V.scalarCount
        }
        if j < count {
            var v = V(repeating: shift)
            for l in 0 ..< count - j { v[l] = row[j + l] }
            let p = exp2(v - s)
            for l in 0 ..< count - j { row[j + l] = p[l] }
        }
    }

    /// `row[j] = scale · p[j] · (row[j] − rowDot)`: the softmax's gradient
    /// `dS = scale · P ∘ (dP − D)` in place of `dP`, for one row.
    @inline(__always) @usableFromInline
    static func softmaxGradient(
        _ row: UnsafeMutablePointer<Float>, probabilities p: UnsafePointer<Float>, count: Int, rowDot: Float,
        scale: Float
    ) {
        let dv = V(repeating: rowDot), sv = V(repeating: scale)
        var j = 0
        while j + V.scalarCount <= count {
            (sv * V.load(p + j) * (V.load(row + j) - dv)).store(to: row + j)
            j += V.scalarCount
        }
        while j < count {
            row[j] = scale * p[j] * (row[j] - rowDot)
            j += 1
        }
    }

    /// `Σ x[j]·y[j]` over `count` floats.
    @inline(__always) @usableFromInline
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var acc = V()
        var j = 0
        while j + V.scalarCount <= count {
            acc = acc.addingProduct(V.load(x + j), V.load(y + j))
            j += V.scalarCount
        }
        var sum = acc.sum()
        while j < count {
            sum += x[j] * y[j]
            j += 1
        }
        return sum
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
