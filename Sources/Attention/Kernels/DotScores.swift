import CTargetFeatures

/// Scores of a block of a few query rows against a key range as dot
/// products, reading the keys in place:
///
///     S[r][j] = scale · Σ_c Q[r][c] · K[j][c]
///
/// Why: with one to four query rows (decoding, one row per query head of a
/// group) the kernels' matrix product wastes its register block: it packs
/// each key range transposed (a second pass over K) and fills one vector
/// of query lanes with one to four rows. Here each key row streams from
/// memory once, `d / V.scalarCount` vector multiply-adds per query row,
/// and one horizontal sum per score.
///
/// - Complexity: `rows · columns · d` multiply-adds; no workspace.
enum DotScores<V: FloatVector> {
    /// The most rows this pays for (measured, docs/DECISIONS.md): beyond,
    /// the products' register blocks reuse each key load across enough
    /// rows to be faster. Rows are taken four at a time; the key range is
    /// read again from cache for each four.
    static var maxRows: Int { 8 }

    /// Key rows ahead of the current one that are prefetched (8 KiB at
    /// d = 128): the hardware prefetcher alone left the key stream at about
    /// a third of the machine's read bandwidth (docs/DECISIONS.md).
    static var prefetchDistance: Int { 16 }

    /// Writes `S` (`rows × columns`, row stride `lds`) for `rows` ≤ ``maxRows``
    /// query rows of `d` floats at `query` and `columns` key rows at `key`.
    static func scores(
        query: UnsafePointer<Float>, rows: Int, key: UnsafePointer<Float>, columns: Int, d: Int,
        scale: Float, into s: UnsafeMutablePointer<Float>, lds: Int
    ) {
        precondition(rows >= 1 && rows <= maxRows)
        var r = 0
        while r < rows {
            let q = query + r * d, out = s + r * lds
            switch rows - r {
            case 1: block(Count1.self, q, key, columns, d, scale, out, lds)
            case 2: block(Count2.self, q, key, columns, d, scale, out, lds)
            case 3: block(Count3.self, q, key, columns, d, scale, out, lds)
            default: block(Count4.self, q, key, columns, d, scale, out, lds)
            }
            r += 4
        }
    }

    /// `R` rows (a type, so that each count is its own specialization with
    /// its accumulators in registers), two keys at a time so the
    /// multiply-add chains of the two keys overlap.
    @inline(__always)
    private static func block<R: StaticCount>(
        _: R.Type, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ columns: Int, _ d: Int,
        _ scale: Float, _ s: UnsafeMutablePointer<Float>, _ lds: Int
    ) {
        let rows = R.value, w = V.scalarCount
        let whole = d / w * w
        var j = 0
        while j < columns {
            let pair = j + 1 < columns
            let k0 = k + j &* d, k1 = pair ? k0 + d : k0
            var a0 = V(), a1 = V(), a2 = V(), a3 = V()  // row r, key j
            var b0 = V(), b1 = V(), b2 = V(), b3 = V()  // row r, key j + 1
            var c = 0
            while c < whole {
                attn_prefetch(k0 + prefetchDistance &* d + c)
                attn_prefetch(k0 + (prefetchDistance + 1) &* d + c)
                let x = V.load(k0 + c), y = V.load(k1 + c)
                let q0 = V.load(q + c)
                a0 = a0.addingProduct(q0, x)
                b0 = b0.addingProduct(q0, y)
                if rows > 1 {
                    let q1 = V.load(q + d + c)
                    a1 = a1.addingProduct(q1, x)
                    b1 = b1.addingProduct(q1, y)
                }
                if rows > 2 {
                    let q2 = V.load(q + 2 &* d + c)
                    a2 = a2.addingProduct(q2, x)
                    b2 = b2.addingProduct(q2, y)
                }
                if rows > 3 {
                    let q3 = V.load(q + 3 &* d + c)
                    a3 = a3.addingProduct(q3, x)
                    b3 = b3.addingProduct(q3, y)
                }
                c += w
            }
            @inline(__always) func emit(_ r: Int, _ a: V, _ b: V) {
                var x = a.laneSum(), y = b.laneSum()
                for t in whole ..< d {
                    x += q[r &* d + t] * k0[t]
                    y += q[r &* d + t] * k1[t]
                }
                s[r &* lds + j] = scale * x
                if pair { s[r &* lds + j + 1] = scale * y }
            }
            emit(0, a0, b0)
            if rows > 1 { emit(1, a1, b1) }
            if rows > 2 { emit(2, a2, b2) }
            if rows > 3 { emit(3, a3, b3) }
            j += pair ? 2 : 1
        }
    }
}
