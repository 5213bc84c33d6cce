/// The AVX2 + FMA tile kernel: up to 6 rows × 16 columns of C in registers.
///
/// Register budget (16 ymm of 8 floats): 12 accumulators (6 rows × 2
/// vectors) + 2 B vectors + 1 broadcast = 15. Each step of k does 12 fused
/// multiply-adds for 2 loads and 6 broadcasts, so the two FMA pipes, not the
/// loads, set the pace. (The AVX-512 kernel's 4 × 64 block would need 32
/// accumulators here, twice the registers there are: it spills, and ran at
/// a third of this block's rate.)
///
/// Edges: rows come in blocks of 6, and a remainder of 1 or 2 rows borrows
/// one block to make 4 + 3 or 4 + 4, because a block of fewer than 3 rows
/// keeps too few independent sums to cover the FMA latency, and a 64-row
/// tile has a lone row (docs/DECISIONS.md). Columns come in
/// panels of 16, then one of 8, then a scalar tail.
public enum AVX2Kernel: TileKernel {
    public typealias Vector = SIMD8<Float>
    public static var id: KernelID { .avx2 }

    /// Steps of k per pass over C. Why: with k in the hundreds (the
    /// product `P·V` over a wide key range) one panel of B is more than L1
    /// holds, and every block of rows would stream it again from L2.
    static let depthChunk = 64

    @inline(__always)
    public static func multiply<B: StorageElement>(
        a: UnsafePointer<Float>, aRowStride rs: Int, aColumnStride cs: Int,
        b: UnsafePointer<B>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, n: Int, k: Int, accumulate: Bool
    ) {
        var p0 = 0
        repeat {
            let depth = min(depthChunk, k - p0)
            let ak = a + p0 * cs, bk = b + p0 * ldb
            let add = accumulate || p0 > 0
            var j = 0
            while j + 16 <= n {
                widenedPanel(
                    Count2.self, a: ak, rs: rs, cs: cs, b: bk + j, ldb: ldb, c: c + j, ldc: ldc, rows: rows, k: depth,
                    accumulate: add)
                j += 16
            }
            if j + 8 <= n {
                widenedPanel(
                    Count1.self, a: ak, rs: rs, cs: cs, b: bk + j, ldb: ldb, c: c + j, ldc: ldc, rows: rows, k: depth,
                    accumulate: add)
                j += 8
            }
            if j < n {
                for r in 0 ..< rows {
                    rowEdge(
                        a: ak + r * rs, aColumnStride: cs, b: bk + j, ldb: ldb, c: c + r * ldc + j, columns: n - j,
                        k: depth, accumulate: add)
                }
            }
            p0 += depth
        } while p0 < k
    }

    /// ``panel(_:a:rs:cs:b:ldb:c:ldc:rows:k:accumulate:)`` with a half-precision
    /// B widened first, `k` (≤ ``depthChunk``) rows of `W` × 8 elements into
    /// a float32 copy on the stack (at most 4 KiB, in L1) that every row
    /// block then reads; a float32 B is read as it is.
    ///
    /// Why: widening in the block's loop left LLVM holding all six
    /// broadcasts beside the two widened vectors and the twelve
    /// accumulators, 20 of AVX2's 16 registers: four accumulators spilled,
    /// and f16 `P·V` ran 1.5× slower than f32 on a Zen 3. The copy also
    /// converts each element once per panel, not once per block of rows
    /// (figures: docs/DECISIONS.md).
    @inline(__always)
    static func widenedPanel<W: StaticCount, B: StorageElement>(
        _ vectors: W.Type, a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<B>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, k: Int, accumulate: Bool
    ) {
        if B.self == Float.self {
            panel(
                vectors, a: a, rs: rs, cs: cs, b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb,
                c: c, ldc: ldc, rows: rows, k: k, accumulate: accumulate)
            return
        }
        let w = W.value &* 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: depthChunk * 16) { copy in
            let f = copy.baseAddress!
            for p in 0 ..< k {
                Vector.load(widening: b + p &* ldb).store(to: f + p &* w)
                if w == 16 { Vector.load(widening: b + p &* ldb + 8).store(to: f + p &* w + 8) }
            }
            panel(
                vectors, a: a, rs: rs, cs: cs, b: UnsafePointer(f), ldb: w, c: c, ldc: ldc, rows: rows, k: k,
                accumulate: accumulate)
        }
    }

    /// All `rows` of one column panel of `W` × 8 floats, in row blocks of
    /// at most 6 (see the type's note on edges).
    @inline(__always)
    static func panel<W: StaticCount, B: StorageElement>(
        _ vectors: W.Type, a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<B>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, k: Int, accumulate: Bool
    ) {
        var r = 0
        while r < rows {
            let m = blockRows(left: rows - r)
            let ar = a + r * rs, cr = c + r * ldc
            switch m {
            case 6:
                block(
                    Count6.self, vectors, a: ar, rs: rs, cs: cs, b: b, ldb: ldb, c: cr, ldc: ldc, k: k,
                    accumulate: accumulate)
            case 5:
                block(
                    Count5.self, vectors, a: ar, rs: rs, cs: cs, b: b, ldb: ldb, c: cr, ldc: ldc, k: k,
                    accumulate: accumulate)
            case 4:
                block(
                    Count4.self, vectors, a: ar, rs: rs, cs: cs, b: b, ldb: ldb, c: cr, ldc: ldc, k: k,
                    accumulate: accumulate)
            case 3:
                block(
                    Count3.self, vectors, a: ar, rs: rs, cs: cs, b: b, ldb: ldb, c: cr, ldc: ldc, k: k,
                    accumulate: accumulate)
            case 2:
                block(
                    Count2.self, vectors, a: ar, rs: rs, cs: cs, b: b, ldb: ldb, c: cr, ldc: ldc, k: k,
                    accumulate: accumulate)
            default:
                block(
                    Count1.self, vectors, a: ar, rs: rs, cs: cs, b: b, ldb: ldb, c: cr, ldc: ldc, k: k,
                    accumulate: accumulate)
            }
            r += m
        }
    }

    /// The rows of the next block when `left` rows remain: 6 while that
    /// leaves 0 or at least 3, then 4 (for 7 or 8 left), then the rest.
    @inline(__always)
    static func blockRows(left: Int) -> Int {
        if left > 8 || left == 6 { return 6 }
        return left >= 7 ? 4 : left
    }

    /// `M` rows (1...6) by `W` × 8 columns (W is 1 or 2): the hot loop,
    /// specialized per count (see ``StaticCount``).
    static func block<M: StaticCount, W: StaticCount, B: StorageElement>(
        _ rows: M.Type, _ vectors: W.Type, a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<B>,
        ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, k: Int, accumulate: Bool
    ) {
        typealias V = Vector
        let m = M.value, wide = W.value == 2
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        let a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs, a4 = a + 4 * rs, a5 = a + 5 * rs
        for p in 0 ..< k {
            let q = p * cs
            let row = b + p * ldb
            let b0 = B.loadVector(row, as: V.self), b1 = wide ? B.loadVector(row + 8, as: V.self) : V()
            var s = V(repeating: a0[q])
            c00 = c00.addingProduct(s, b0)
            if wide { c01 = c01.addingProduct(s, b1) }
            if m > 1 {
                s = V(repeating: a1[q])
                c10 = c10.addingProduct(s, b0)
                if wide { c11 = c11.addingProduct(s, b1) }
            }
            if m > 2 {
                s = V(repeating: a2[q])
                c20 = c20.addingProduct(s, b0)
                if wide { c21 = c21.addingProduct(s, b1) }
            }
            if m > 3 {
                s = V(repeating: a3[q])
                c30 = c30.addingProduct(s, b0)
                if wide { c31 = c31.addingProduct(s, b1) }
            }
            if m > 4 {
                s = V(repeating: a4[q])
                c40 = c40.addingProduct(s, b0)
                if wide { c41 = c41.addingProduct(s, b1) }
            }
            if m > 5 {
                s = V(repeating: a5[q])
                c50 = c50.addingProduct(s, b0)
                if wide { c51 = c51.addingProduct(s, b1) }
            }
        }
        store(c, wide, accumulate, c00, c01)
        if m > 1 { store(c + ldc, wide, accumulate, c10, c11) }
        if m > 2 { store(c + 2 * ldc, wide, accumulate, c20, c21) }
        if m > 3 { store(c + 3 * ldc, wide, accumulate, c30, c31) }
        if m > 4 { store(c + 4 * ldc, wide, accumulate, c40, c41) }
        if m > 5 { store(c + 5 * ldc, wide, accumulate, c50, c51) }
    }

    /// Writes (or adds) one row of one or two vectors.
    @inline(__always)
    static func store(_ c: UnsafeMutablePointer<Float>, _ wide: Bool, _ accumulate: Bool, _ x0: Vector, _ x1: Vector) {
        (accumulate ? Vector.load(c) + x0 : x0).store(to: c)
        if wide { (accumulate ? Vector.load(c + 8) + x1 : x1).store(to: c + 8) }
    }
}
