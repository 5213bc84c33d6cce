import CTargetFeatures

/// The two products of a block of a few query rows (one to eight: decoding,
/// one row per query head of a group), both reading the keys and values
/// row by row, in memory order:
///
///     S   = scale · Q_b · Kᵀ     one dot product per (row, key)
///     acc = acc + P · V          each value row added to every row's accumulator
///
/// Why: with so few rows every key and value row is used a handful of times,
/// so the products are bound by how fast K and V stream from memory. The
/// register-blocked kernels read them in column panels and pack the keys
/// transposed (a second pass), which left decoding at about a third of the
/// machine's read bandwidth; read in order, each row is one sequential run
/// of cache lines that the prefetchers follow (figures: docs/DECISIONS.md).
///
/// - Complexity: `rows · columns · d` multiply-adds per product; no workspace.
enum FewRowKernel<V: FloatVector> {
    /// The most rows this is used for: beyond, the register-blocked kernels
    /// reuse each key load across enough rows to be faster.
    static var maxRows: Int { 8 }

    /// Key rows ahead of the current one that are prefetched (16 KiB at
    /// d = 128; 16 rows were slower, docs/DECISIONS.md).
    static var prefetchDistance: Int { 32 }

    /// Writes `S` (`rows × columns`, row stride `lds`) for `rows` ≤ ``maxRows``
    /// query rows of `d` floats at `query` and `columns` key rows at `key`.
    static func scores(
        query: UnsafePointer<Float>, rows: Int, key: UnsafePointer<Float>, columns: Int, d: Int,
        scale: Float, into s: UnsafeMutablePointer<Float>, lds: Int
    ) {
        precondition(rows >= 1 && rows <= maxRows)
        switch rows {
        case 1: dots(Count1.self, query, key, columns, d, scale, s, lds)
        case 2: dots(Count2.self, query, key, columns, d, scale, s, lds)
        case 3: dots(Count3.self, query, key, columns, d, scale, s, lds)
        case 4: dots(Count4.self, query, key, columns, d, scale, s, lds)
        case 5: dots(Count5.self, query, key, columns, d, scale, s, lds)
        case 6: dots(Count6.self, query, key, columns, d, scale, s, lds)
        case 7: dots(Count7.self, query, key, columns, d, scale, s, lds)
        default: dots(Count8.self, query, key, columns, d, scale, s, lds)
        }
    }

    /// ``scores(query:rows:key:columns:d:scale:into:lds:)`` for `R` rows: one
    /// key at a time, its row loaded once per vector and multiplied into
    /// every query row's accumulator (`R` independent chains).
    @inline(__always)
    private static func dots<R: StaticCount>(
        _: R.Type, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ columns: Int, _ d: Int,
        _ scale: Float, _ s: UnsafeMutablePointer<Float>, _ lds: Int
    ) {
        let rows = R.value, w = V.scalarCount
        let whole = d / w * w
        for j in 0 ..< columns {
            let kj = k + j &* d
            var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
            var c = 0
            while c < whole {
                attn_prefetch(kj + prefetchDistance &* d + c)
                let x = V.load(kj + c)
                a0 = a0.addingProduct(V.load(q + c), x)
                if rows > 1 { a1 = a1.addingProduct(V.load(q + d + c), x) }
                if rows > 2 { a2 = a2.addingProduct(V.load(q + 2 &* d + c), x) }
                if rows > 3 { a3 = a3.addingProduct(V.load(q + 3 &* d + c), x) }
                if rows > 4 { a4 = a4.addingProduct(V.load(q + 4 &* d + c), x) }
                if rows > 5 { a5 = a5.addingProduct(V.load(q + 5 &* d + c), x) }
                if rows > 6 { a6 = a6.addingProduct(V.load(q + 6 &* d + c), x) }
                if rows > 7 { a7 = a7.addingProduct(V.load(q + 7 &* d + c), x) }
                c += w
            }
            @inline(__always) func emit(_ r: Int, _ a: V) {
                var x = a.laneSum()
                for t in whole ..< d { x += q[r &* d + t] * kj[t] }
                s[r &* lds + j] = scale * x
            }
            emit(0, a0)
            if rows > 1 { emit(1, a1) }
            if rows > 2 { emit(2, a2) }
            if rows > 3 { emit(3, a3) }
            if rows > 4 { emit(4, a4) }
            if rows > 5 { emit(5, a5) }
            if rows > 6 { emit(6, a6) }
            if rows > 7 { emit(7, a7) }
        }
    }

    /// Value rows per block of ``accumulate(probabilities:ldp:rows:value:columns:d:into:)``:
    /// 64 rows of d = 128 are 32 KiB, which stay in L1 while every panel
    /// of the block is summed.
    static var valueBlock: Int { 64 }

    /// `acc += P · V`: `acc` is `rows × d` (row stride `d`), `P` is
    /// `rows × columns` (row stride `ldp`), `V` is `columns` rows of `d`.
    ///
    /// The values go in blocks of ``valueBlock`` rows. The next block is
    /// prefetched in memory order while this one is summed panel by panel:
    /// a panel is one or two vectors of every row's accumulator, held in
    /// registers across the block's rows. Why: the accumulators are then
    /// loaded and stored once per block, not once per value row, and the
    /// memory stream stays sequential.
    static func accumulate(
        probabilities p: UnsafePointer<Float>, ldp: Int, rows: Int, value v: UnsafePointer<Float>, columns: Int,
        d: Int, into acc: UnsafeMutablePointer<Float>
    ) {
        precondition(rows >= 1 && rows <= maxRows)
        switch rows {
        case 1: panels(Count1.self, p, ldp, v, columns, d, acc)
        case 2: panels(Count2.self, p, ldp, v, columns, d, acc)
        case 3: panels(Count3.self, p, ldp, v, columns, d, acc)
        case 4: panels(Count4.self, p, ldp, v, columns, d, acc)
        case 5: panels(Count5.self, p, ldp, v, columns, d, acc)
        case 6: panels(Count6.self, p, ldp, v, columns, d, acc)
        case 7: panels(Count7.self, p, ldp, v, columns, d, acc)
        default: panels(Count8.self, p, ldp, v, columns, d, acc)
        }
    }

    @inline(__always)
    private static func panels<R: StaticCount>(
        _: R.Type, _ p: UnsafePointer<Float>, _ ldp: Int, _ v: UnsafePointer<Float>, _ columns: Int, _ d: Int,
        _ acc: UnsafeMutablePointer<Float>
    ) {
        let w = V.scalarCount, whole = d / w * w
        // Two vectors a panel when the accumulators fit the registers
        // (2·R of 32 with AVX-512; of 16 with AVX2 only up to four rows).
        let wide = w >= 16 || R.value <= 4
        var j0 = 0
        while j0 < columns {
            let count = min(valueBlock, columns - j0)
            let block = v + j0 &* d
            // The next block, prefetched in memory order, two lines per
            // value row a panel visits (spread out: a burst of prefetches
            // would fill the miss buffers and stall the loads).
            let next = block + count &* d
            let nextEnd = next + min(valueBlock, columns - j0 - count) &* d
            var slice = next
            var c = 0
            if wide {
                while c + 2 * w <= whole {
                    panel(R.self, Count2.self, p + j0, ldp, block + c, count, d, acc + c, slice, nextEnd)
                    slice += 32 &* count
                    c += 2 * w
                }
            }
            while c < whole {
                panel(R.self, Count1.self, p + j0, ldp, block + c, count, d, acc + c, slice, nextEnd)
                slice += 32 &* count
                c += w
            }
            for t in whole ..< d {
                for r in 0 ..< R.value {
                    var sum: Float = 0
                    for j in 0 ..< count { sum += p[r &* ldp + j0 + j] * block[j &* d + t] }
                    acc[r &* d + t] += sum
                }
            }
            j0 += count
        }
    }

    /// One panel: `C` vectors at `acc` of each of `R` rows, plus the
    /// weighted sum of the same vectors of `count` value rows; on the way,
    /// two lines a row from `prefetch` on (up to `prefetchEnd`) are prefetched.
    @inline(__always)
    private static func panel<R: StaticCount, C: StaticCount>(
        _: R.Type, _: C.Type, _ p: UnsafePointer<Float>, _ ldp: Int, _ v: UnsafePointer<Float>, _ count: Int,
        _ d: Int, _ acc: UnsafeMutablePointer<Float>, _ prefetch: UnsafePointer<Float>,
        _ prefetchEnd: UnsafePointer<Float>
    ) {
        let rows = R.value, two = C.value == 2, w = V.scalarCount
        // The block's sums start from zero and are added to `acc` at the end:
        // a two-level sum, whose rounding error grows with the blocks and the
        // block length, not with every key (at Nk = 1M, summing into `acc`
        // directly left a relative error of 2·10⁻⁵ on an output that averages
        // a million values).
        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
        var b0 = V(), b1 = V(), b2 = V(), b3 = V(), b4 = V(), b5 = V(), b6 = V(), b7 = V()
        for j in 0 ..< count {
            let ahead = prefetch + 32 &* j
            if ahead < prefetchEnd {
                attn_prefetch(ahead)
                attn_prefetch(ahead + 16)
            }
            let row = v + j &* d
            let x = V.load(row), y = two ? V.load(row + w) : V()
            @inline(__always) func weight(_ r: Int) -> V { V(repeating: p[r &* ldp + j]) }
            @inline(__always) func step(_ r: Int, _ a: inout V, _ b: inout V) {
                guard r < rows else { return }
                let pr = weight(r)
                a = a.addingProduct(pr, x)
                if two { b = b.addingProduct(pr, y) }
            }
            step(0, &a0, &b0)
            step(1, &a1, &b1)
            step(2, &a2, &b2)
            step(3, &a3, &b3)
            step(4, &a4, &b4)
            step(5, &a5, &b5)
            step(6, &a6, &b6)
            step(7, &a7, &b7)
        }
        @inline(__always) func store(_ r: Int, _ a: V, _ b: V) {
            guard r < rows else { return }
            let out = acc + r &* d
            (V.load(out) + a).store(to: out)
            if two { (V.load(out + w) + b).store(to: out + w) }
        }
        store(0, a0, b0)
        store(1, a1, b1)
        store(2, a2, b2)
        store(3, a3, b3)
        store(4, a4, b4)
        store(5, a5, b5)
        store(6, a6, b6)
        store(7, a7, b7)
    }
}
