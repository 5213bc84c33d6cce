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
/// K and V are read in their stored precision and widened in registers
/// (``StorageElement/loadVector(_:as:)``): decoding is bound by reading
/// them, so a half-precision cache moves half the bytes, and a copy widened
/// through memory first would move them again.
///
/// - Complexity: `rows · columns · d` multiply-adds per product; no workspace.
enum FewRowKernel<V: FloatVector> {
    /// The most rows this is used for: beyond, the register-blocked kernels
    /// reuse each key load across enough rows to be faster.
    static var maxRows: Int { 8 }

    /// Key rows ahead of the current one that are prefetched (16 KiB at
    /// d = 128; 16 rows were slower, docs/DECISIONS.md).
    static var prefetchDistance: Int { 32 }

    /// The most rows one pass takes; a block of more rows is summed in two
    /// passes over each chunk of keys or values (infinite where one pass
    /// takes every row).
    ///
    /// Why: AVX2's sixteen registers hold the chains of four rows by two
    /// keys (or two value vectors), so one load of K or V feeds eight FMAs
    /// for every six loads; eight rows in one pass hold one key, and load
    /// nine vectors per eight FMAs. The second pass reads the chunk from L1.
    static var halfRows: Int { V.scalarCount == 8 ? 4 : .max }

    /// Keys per chunk of a two-pass block: 16 KiB of float32 keys at d = 128.
    static var splitChunk: Int { 32 }

    /// The most rows whose scores are summed as a tree (``keyBlocks``): its
    /// `2R` chains and pending levels must fit the registers. With AVX2's
    /// sixteen, four rows spilled and decoded f16 about 1.17× slower than
    /// per-key sums (docs/DECISIONS.md); AVX-512 has thirty-two.
    static var treeRows: Int { V.scalarCount == 8 ? 2 : 4 }

    /// Writes `S` (`rows × columns`, row stride `lds`) for `rows` ≤ ``maxRows``
    /// query rows of `d` floats at `query` and `columns` key rows at `key`,
    /// stored as `E` and widened as they are loaded.
    static func scores<E: StorageElement>(
        query: UnsafePointer<Float>, rows: Int, key: UnsafePointer<E>, columns: Int, d: Int,
        scale: Float, into s: UnsafeMutablePointer<Float>, lds: Int
    ) {
        precondition(rows >= 1 && rows <= maxRows)
        if rows > halfRows {
            // Two passes of at most four rows over each chunk of keys, the
            // second reading it from L1 (see ``halfRows``).
            var j = 0
            while j < columns {
                let n = min(splitChunk, columns - j)
                scores(
                    query: query, rows: halfRows, key: key + j &* d, columns: n, d: d, scale: scale, into: s + j,
                    lds: lds)
                scores(
                    query: query + halfRows &* d, rows: rows - halfRows, key: key + j &* d, columns: n, d: d,
                    scale: scale, into: s + halfRows &* lds + j, lds: lds)
                j += n
            }
            return
        }
        // Whole vectors of keys for up to ``treeRows`` rows when d fills whole
        // vectors (the tree sums whole vectors of partial sums), the rest by groups.
        let blocked = rows <= treeRows && d % V.scalarCount == 0 ? columns / V.scalarCount * V.scalarCount : 0
        switch rows {
        case 1: keyBlocks(Count1.self, query, key, blocked, d, scale, s, lds)
        case 2: keyBlocks(Count2.self, query, key, blocked, d, scale, s, lds)
        case 3: keyBlocks(Count3.self, query, key, blocked, d, scale, s, lds)
        case 4: keyBlocks(Count4.self, query, key, blocked, d, scale, s, lds)
        default: break
        }
        switch rows {
        case 1: keyGroups(Count1.self, Count4.self, query, key, blocked, columns, d, scale, s, lds)
        case 2: keyGroups(Count2.self, Count4.self, query, key, blocked, columns, d, scale, s, lds)
        case 3: keyGroups(Count3.self, Count2.self, query, key, blocked, columns, d, scale, s, lds)
        case 4: keyGroups(Count4.self, Count2.self, query, key, blocked, columns, d, scale, s, lds)
        case 5: keyGroups(Count5.self, Count1.self, query, key, blocked, columns, d, scale, s, lds)
        case 6: keyGroups(Count6.self, Count1.self, query, key, blocked, columns, d, scale, s, lds)
        case 7: keyGroups(Count7.self, Count1.self, query, key, blocked, columns, d, scale, s, lds)
        default: keyGroups(Count8.self, Count1.self, query, key, blocked, columns, d, scale, s, lds)
        }
    }

    /// The scores of `R` ≤ 4 rows with keys `0 ..< columns` (a multiple of
    /// the vector width `w`, and `d` too), `w` keys at a time: the dot
    /// products of two keys at a time are summed lane-wise as a tree
    /// (``FloatVector/pairSums(_:_:width:)``), and each row's `w` scores are
    /// stored as one vector.
    ///
    /// Why: summing each dot product's vector on its own (``keyGroups``)
    /// costs about as many instructions as its FMAs at d = 128, and left the
    /// scores at twice the time of `P·V`; the tree costs about three per
    /// dot product. (Figures: docs/DECISIONS.md.) Registers: the tree holds
    /// up to three pending levels of `R` vectors beside the `2R` chains.
    @inline(__always)
    private static func keyBlocks<R: StaticCount, E: StorageElement>(
        _: R.Type, _ q: UnsafePointer<Float>, _ k: UnsafePointer<E>, _ columns: Int, _ d: Int,
        _ scale: Float, _ s: UnsafeMutablePointer<Float>, _ lds: Int
    ) {
        let w = V.scalarCount, rows = R.value
        var j = 0
        while j < columns {
            @inline(__always) func two(_ i: Int) -> RowVectors<V> {
                let a = products(R.self, Count2.self, q, k, j + i, d)
                return RowVectors { r in r < rows ? V.pairSums(a[r], a[rows + r], width: w / 2) : V() }
            }
            @inline(__always) func four(_ i: Int) -> RowVectors<V> { two(i).paired(with: two(i + 2), width: w / 4) }
            @inline(__always) func eight(_ i: Int) -> RowVectors<V> {
                four(i).paired(with: four(i + 4), width: w / 8)
            }
            let sums = w == 4 ? four(0) : w == 8 ? eight(0) : eight(0).paired(with: eight(8), width: 1)
            for r in 0 ..< rows { (scale * sums[r].inKeyOrder()).store(to: s + r &* lds + j) }
            j += w
        }
    }

    /// The scores of `R` rows with keys `start ..< columns`, `G` keys at a
    /// time (`R·G` ≤ 8), then the remaining keys one at a time.
    ///
    /// Why `G` keys: each dot product is a chain of `d / width` dependent
    /// FMAs, so one key for four rows keeps only four chains in flight,
    /// about half of what the FMA units' latency needs; eight chains hide it.
    @inline(__always)
    private static func keyGroups<R: StaticCount, G: StaticCount, E: StorageElement>(
        _: R.Type, _: G.Type, _ q: UnsafePointer<Float>, _ k: UnsafePointer<E>, _ start: Int, _ columns: Int,
        _ d: Int, _ scale: Float, _ s: UnsafeMutablePointer<Float>, _ lds: Int
    ) {
        var j = start
        while j + G.value <= columns {
            dots(R.self, G.self, q, k, j, d, scale, s, lds)
            j += G.value
        }
        while j < columns {
            dots(R.self, Count1.self, q, k, j, d, scale, s, lds)
            j += 1
        }
    }

    /// The dot products of `R` query rows with keys `j ..< j + G` over the
    /// whole vectors of `d`, still as vectors of partial sums: each key
    /// vector is loaded (and widened) once and multiplied into every row's
    /// accumulator, `R·G` ≤ 8 independent chains, slot `g·R + r` for key `g`
    /// and row `r`. The keys ahead are prefetched on the way.
    @inline(__always)
    private static func products<R: StaticCount, G: StaticCount, E: StorageElement>(
        _: R.Type, _: G.Type, _ q: UnsafePointer<Float>, _ k: UnsafePointer<E>, _ j: Int, _ d: Int
    ) -> Accumulators<V> {
        let rows = R.value, keys = G.value, w = V.scalarCount
        let whole = d / w * w
        let k0 = k + j &* d, ahead = k0 + prefetchDistance &* d
        var a = Accumulators<V>()
        var c = 0
        while c < whole {
            // One prefetch per 64 bytes of each row: a vector of 16-bit keys
            // on AVX2 is a quarter of a cache line.
            if (c &* MemoryLayout<E>.stride) & 63 == 0 {
                attn_prefetch(ahead + c)
                if keys > 1 { attn_prefetch(ahead + d + c) }
                if keys > 2 { attn_prefetch(ahead + 2 &* d + c) }
                if keys > 3 { attn_prefetch(ahead + 3 &* d + c) }
            }
            let x0 = V.load(widening: k0 + c)
            let x1 = keys > 1 ? V.load(widening: k0 + d + c) : V()
            let x2 = keys > 2 ? V.load(widening: k0 + 2 &* d + c) : V()
            let x3 = keys > 3 ? V.load(widening: k0 + 3 &* d + c) : V()
            @inline(__always) func step(_ slot: Int, _ a: inout V) {
                let (g, r) = slot.quotientAndRemainder(dividingBy: rows)
                guard g < keys else { return }
                let x = g == 0 ? x0 : g == 1 ? x1 : g == 2 ? x2 : x3
                a = a.addingProduct(V.load(q + r &* d + c), x)
            }
            step(0, &a.v0)
            step(1, &a.v1)
            step(2, &a.v2)
            step(3, &a.v3)
            step(4, &a.v4)
            step(5, &a.v5)
            step(6, &a.v6)
            step(7, &a.v7)
            c += w
        }
        return a
    }

    /// The scores of `R` query rows with keys `j ..< j + G`, any `d`: the
    /// ``products(_:_:_:_:_:_:)``, each summed on its own, plus the columns
    /// past the last whole vector.
    @inline(__always)
    private static func dots<R: StaticCount, G: StaticCount, E: StorageElement>(
        _: R.Type, _: G.Type, _ q: UnsafePointer<Float>, _ k: UnsafePointer<E>, _ j: Int, _ d: Int,
        _ scale: Float, _ s: UnsafeMutablePointer<Float>, _ lds: Int
    ) {
        let rows = R.value, whole = d / V.scalarCount * V.scalarCount
        let a = products(R.self, G.self, q, k, j, d)
        if rows &* G.value == 8 && V.scalarCount == 8 && whole == d {
            // Eight dot products of eight lanes: summed together as one tree.
            let sums = scale * a.slotSums()
            for slot in 0 ..< 8 {
                let (g, r) = slot.quotientAndRemainder(dividingBy: rows)
                s[r &* lds &+ j &+ g] = sums[slot]
            }
            return
        }
        for slot in 0 ..< rows &* G.value {
            let (g, r) = slot.quotientAndRemainder(dividingBy: rows)
            let kg = k + (j + g) &* d
            var x = a[slot].laneSum()
            for t in whole ..< d { x += q[r &* d + t] * kg[t].widened }
            s[r &* lds + j + g] = scale * x
        }
    }

    /// Value rows per block of ``accumulate(probabilities:ldp:rows:value:columns:d:into:)``:
    /// 64 rows of d = 128 are 32 KiB, which stay in L1 while every panel
    /// of the block is summed.
    static var valueBlock: Int { 64 }

    /// `acc += P · V`: `acc` is `rows × d` (row stride `d`), `P` is
    /// `rows × columns` (row stride `ldp`), `V` is `columns` rows of `d`
    /// stored as `E`, widened as they are loaded.
    ///
    /// The values go in blocks of ``valueBlock`` rows. The block after next
    /// is prefetched in memory order while this one is summed panel by panel:
    /// a panel is one or two vectors of every row's accumulator, held in
    /// registers across the block's rows. Why: the accumulators are then
    /// loaded and stored once per block, not once per value row, and the
    /// memory stream stays sequential.
    static func accumulate<E: StorageElement>(
        probabilities p: UnsafePointer<Float>, ldp: Int, rows: Int, value v: UnsafePointer<E>, columns: Int,
        d: Int, into acc: UnsafeMutablePointer<Float>
    ) {
        precondition(rows >= 1 && rows <= maxRows)
        if rows > halfRows {
            // Two passes of at most four rows over each block of values, the
            // second reading it from L1 (see ``halfRows``).
            var j = 0
            while j < columns {
                let n = min(valueBlock, columns - j)
                accumulate(
                    probabilities: p + j, ldp: ldp, rows: halfRows, value: v + j &* d, columns: n, d: d, into: acc)
                accumulate(
                    probabilities: p + halfRows &* ldp + j, ldp: ldp, rows: rows - halfRows, value: v + j &* d,
                    columns: n, d: d, into: acc + halfRows &* d)
                j += n
            }
            return
        }
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
    private static func panels<R: StaticCount, E: StorageElement>(
        _: R.Type, _ p: UnsafePointer<Float>, _ ldp: Int, _ v: UnsafePointer<E>, _ columns: Int, _ d: Int,
        _ acc: UnsafeMutablePointer<Float>
    ) {
        let w = V.scalarCount, whole = d / w * w
        // Two vectors a panel when the accumulators fit the registers
        // (2·R of 32 with AVX-512; of 16 with AVX2 only up to four rows).
        let wide = w >= 16 || R.value <= 4
        let panelCount = wide ? whole / (2 * w) + whole % (2 * w) / w : whole / w
        var j0 = 0
        while j0 < columns {
            let count = min(valueBlock, columns - j0)
            let block = v + j0 &* d
            // The block after next, prefetched in memory order, one or two
            // lines per value row a panel visits: spread over the whole
            // block, so that the stream keeps moving while the block is
            // summed (a burst fills the miss buffers and stalls the loads),
            // and past the end of `columns`, into the rows the next call
            // reads (a prefetch never faults).
            let ahead = UnsafeRawPointer(block + (count + valueBlock) &* d)
            let aheadEnd = ahead + valueBlock &* d &* MemoryLayout<E>.stride
            let lines = d &* MemoryLayout<E>.stride > 64 &* panelCount ? 2 : 1
            var slice = ahead
            var c = 0
            if wide {
                while c + 2 * w <= whole {
                    panel(R.self, Count2.self, p + j0, ldp, block + c, count, d, acc + c, slice, aheadEnd, lines)
                    slice += 64 &* lines &* count
                    c += 2 * w
                }
            }
            while c < whole {
                panel(R.self, Count1.self, p + j0, ldp, block + c, count, d, acc + c, slice, aheadEnd, lines)
                slice += 64 &* lines &* count
                c += w
            }
            for t in whole ..< d {
                for r in 0 ..< R.value {
                    var sum: Float = 0
                    for j in 0 ..< count { sum += p[r &* ldp + j0 + j] * block[j &* d + t].widened }
                    acc[r &* d + t] += sum
                }
            }
            j0 += count
        }
    }

    /// One panel: `C` vectors at `acc` of each of `R` rows, plus the
    /// weighted sum of the same vectors of `count` value rows; on the way,
    /// `lines` (1 or 2) lines a row from `prefetch` on (up to `prefetchEnd`)
    /// are prefetched.
    @inline(__always)
    private static func panel<R: StaticCount, C: StaticCount, E: StorageElement>(
        _: R.Type, _: C.Type, _ p: UnsafePointer<Float>, _ ldp: Int, _ v: UnsafePointer<E>, _ count: Int,
        _ d: Int, _ acc: UnsafeMutablePointer<Float>, _ prefetch: UnsafeRawPointer,
        _ prefetchEnd: UnsafeRawPointer, _ lines: Int
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
            let line = prefetch + 64 &* lines &* j
            if line < prefetchEnd {
                attn_prefetch(line)
                if lines == 2 { attn_prefetch(line + 64) }
            }
            let row = v + j &* d
            let x = V.load(widening: row), y = two ? V.load(widening: row + w) : V()
            @inline(__always) func weight(_ r: Int) -> V { V(repeating: p[r &* ldp &+ j]) }
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

/// Eight vectors in registers, by slot: the accumulators of ``FewRowKernel``'s
/// dot products (`R·G` ≤ 8 chains).
struct Accumulators<V: FloatVector> {
    var v0 = V(), v1 = V(), v2 = V(), v3 = V(), v4 = V(), v5 = V(), v6 = V(), v7 = V()

    /// Lane `i` holds the sum of the lanes of slot `i`, for vectors of eight
    /// lanes: the eight slots summed together as one transpose-and-add tree
    /// (``FloatVector/pairSums(_:_:width:)``), seven shuffle pairs and adds
    /// in place of eight separate reductions. Why: on AVX2 the reductions
    /// of a four-row block, one at a time, took a quarter of the scores.
    @inline(__always)
    func slotSums() -> V {
        precondition(V.scalarCount == 8)
        let l0 = V.pairSums(v0, v1, width: 4), l1 = V.pairSums(v2, v3, width: 4)
        let l2 = V.pairSums(v4, v5, width: 4), l3 = V.pairSums(v6, v7, width: 4)
        return V.pairSums(V.pairSums(l0, l1, width: 2), V.pairSums(l2, l3, width: 2), width: 1).inKeyOrder()
    }

    @inline(__always)
    subscript(slot: Int) -> V {
        switch slot {
        case 0: v0
        case 1: v1
        case 2: v2
        case 3: v3
        case 4: v4
        case 5: v5
        case 6: v6
        default: v7
        }
    }
}

/// One vector for each of up to four query rows: a level of the lane-sum
/// tree of ``FewRowKernel``'s blocked scores.
struct RowVectors<V: FloatVector> {
    var v0: V, v1: V, v2: V, v3: V

    @inline(__always)
    init(_ row: (Int) -> V) { (v0, v1, v2, v3) = (row(0), row(1), row(2), row(3)) }

    @inline(__always)
    subscript(row: Int) -> V { row == 0 ? v0 : row == 1 ? v1 : row == 2 ? v2 : v3 }

    /// The next level of the tree: row by row, ``FloatVector/pairSums(_:_:width:)``
    /// of these and `other`.
    @inline(__always)
    func paired(with other: Self, width: Int) -> Self {
        Self { V.pairSums(self[$0], other[$0], width: width) }
    }
}
