/// The two tile products of ``OnlineSoftmaxTile`` as register-blocked SIMD
/// loops, for head dims that are multiples of 16:
///
///     C[rows × n] (+)= A[rows × k] · B[k × n]     (n a multiple of 16)
///
/// Both products have that form: scores are `Q · Kᵗ` with `Kᵗ` packed
/// (and pre-scaled) per key range, outputs are `P · V` with V's rows as they
/// are. The 4-row × 64-column block keeps 16 `SIMD16<Float>` accumulators in
/// registers and does 16 fused multiply-adds per 4 broadcasts and 4 loads.
///
/// Why not `cblas_sgemm`: with the OpenBLAS kernels this machine kind runs
/// (`Haswell`, AVX2), a 128×64×512 product measured 122 GFLOP/s on one core;
/// this loop, compiled with `-target-cpu native` for AVX-512, measured 261.
/// OpenBLAS also packs both operands on every call, which small tiles pay
/// for again and again. Head dims that are not multiples of 16 use OpenBLAS.
enum MicroGEMM {
    /// `c[r, j] = (accumulate ? c[r, j] : 0) + Σ_p a[r, p] · b[p, j]` for
    /// `r < rows`, `j < n`, `p < k`. `n` must be a multiple of 16; rows of
    /// each matrix are `lda`, `ldb`, `ldc` floats apart.
    static func multiply(a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, n: Int, k: Int, accumulate: Bool) {
        multiply(a: a, aRowStride: lda, aColumnStride: 1, b: b, ldb: ldb, c: c, ldc: ldc, rows: rows, n: n, k: k,
                 accumulate: accumulate)
    }

    /// The same with A stored transposed: `a[p · ldaT + r]` is A's element
    /// (r, p) (used to multiply transposed probabilities by values).
    static func multiply(aTransposed a: UnsafePointer<Float>, ldaT: Int, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, n: Int, k: Int, accumulate: Bool) {
        multiply(a: a, aRowStride: 1, aColumnStride: ldaT, b: b, ldb: ldb, c: c, ldc: ldc, rows: rows, n: n, k: k,
                 accumulate: accumulate)
    }

    /// A's element (r, p) is `a[r · aRowStride + p · aColumnStride]`.
    @inline(__always)
    private static func multiply(a: UnsafePointer<Float>, aRowStride rs: Int, aColumnStride cs: Int,
                                 b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                 rows: Int, n: Int, k: Int, accumulate: Bool) {
        precondition(n % 16 == 0)
        var j = 0
        while j + 64 <= n {
            var r = 0
            while r + 4 <= rows {
                block4x64(a: a + r * rs, rs: rs, cs: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, ldc: ldc, k: k, accumulate: accumulate)
                r += 4
            }
            while r < rows {
                for v in 0 ..< 4 {
                    block1x16(a: a + r * rs, cs: cs, b: b + j + 16 * v, ldb: ldb, c: c + r * ldc + j + 16 * v, k: k, accumulate: accumulate)
                }
                r += 1
            }
            j += 64
        }
        while j < n {
            for r in 0 ..< rows {
                block1x16(a: a + r * rs, cs: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, k: k, accumulate: accumulate)
            }
            j += 16
        }
    }

    /// Four rows by 64 columns: the hot loop.
    @inline(__always)
    private static func block4x64(a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<Float>, ldb: Int,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, k: Int, accumulate: Bool) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c02 = V(), c03 = V()
        var c10 = V(), c11 = V(), c12 = V(), c13 = V()
        var c20 = V(), c21 = V(), c22 = V(), c23 = V()
        var c30 = V(), c31 = V(), c32 = V(), c33 = V()
        let a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs
        for p in 0 ..< k {
            let q = p * cs
            let row = UnsafeRawPointer(b + p * ldb)
            let b0 = row.loadUnaligned(as: V.self)
            let b1 = row.loadUnaligned(fromByteOffset: 64, as: V.self)
            let b2 = row.loadUnaligned(fromByteOffset: 128, as: V.self)
            let b3 = row.loadUnaligned(fromByteOffset: 192, as: V.self)
            let s0 = V(repeating: a0[q]), s1 = V(repeating: a1[q]), s2 = V(repeating: a2[q]), s3 = V(repeating: a3[q])
            c00 = c00.addingProduct(s0, b0); c01 = c01.addingProduct(s0, b1); c02 = c02.addingProduct(s0, b2); c03 = c03.addingProduct(s0, b3)
            c10 = c10.addingProduct(s1, b0); c11 = c11.addingProduct(s1, b1); c12 = c12.addingProduct(s1, b2); c13 = c13.addingProduct(s1, b3)
            c20 = c20.addingProduct(s2, b0); c21 = c21.addingProduct(s2, b1); c22 = c22.addingProduct(s2, b2); c23 = c23.addingProduct(s2, b3)
            c30 = c30.addingProduct(s3, b0); c31 = c31.addingProduct(s3, b1); c32 = c32.addingProduct(s3, b2); c33 = c33.addingProduct(s3, b3)
        }
        store(c, accumulate, c00, c01, c02, c03)
        store(c + ldc, accumulate, c10, c11, c12, c13)
        store(c + 2 * ldc, accumulate, c20, c21, c22, c23)
        store(c + 3 * ldc, accumulate, c30, c31, c32, c33)
    }

    /// One row by 16 columns: the edges.
    @inline(__always)
    private static func block1x16(a: UnsafePointer<Float>, cs: Int, b: UnsafePointer<Float>, ldb: Int,
                                  c: UnsafeMutablePointer<Float>, k: Int, accumulate: Bool) {
        var sum = SIMD16<Float>()
        for p in 0 ..< k {
            sum = sum.addingProduct(SIMD16(repeating: a[p * cs]), UnsafeRawPointer(b + p * ldb).loadUnaligned(as: SIMD16<Float>.self))
        }
        let out = UnsafeMutableRawPointer(c)
        out.storeBytes(of: accumulate ? out.loadUnaligned(as: SIMD16<Float>.self) + sum : sum, as: SIMD16<Float>.self)
    }

    @inline(__always)
    private static func store(_ c: UnsafeMutablePointer<Float>, _ accumulate: Bool,
                              _ x0: SIMD16<Float>, _ x1: SIMD16<Float>, _ x2: SIMD16<Float>, _ x3: SIMD16<Float>) {
        // Unrolled by hand: an array literal here allocated on every call.
        let out = UnsafeMutableRawPointer(c)
        if accumulate {
            out.storeBytes(of: out.loadUnaligned(as: SIMD16<Float>.self) + x0, as: SIMD16<Float>.self)
            out.storeBytes(of: out.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) + x1, toByteOffset: 64, as: SIMD16<Float>.self)
            out.storeBytes(of: out.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self) + x2, toByteOffset: 128, as: SIMD16<Float>.self)
            out.storeBytes(of: out.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self) + x3, toByteOffset: 192, as: SIMD16<Float>.self)
        } else {
            out.storeBytes(of: x0, as: SIMD16<Float>.self)
            out.storeBytes(of: x1, toByteOffset: 64, as: SIMD16<Float>.self)
            out.storeBytes(of: x2, toByteOffset: 128, as: SIMD16<Float>.self)
            out.storeBytes(of: x3, toByteOffset: 192, as: SIMD16<Float>.self)
        }
    }

    /// Packs `columns` rows of `k` floats (a key range) transposed and scaled:
    /// `packed[p, j] = scale · rows[j, p]`, rows of the result `ldPacked`
    /// floats apart; nothing past column `columns` is written.
    static func packTransposed(_ rows: UnsafePointer<Float>, columns: Int, k: Int, scale: Float,
                               into packed: UnsafeMutablePointer<Float>, ldPacked: Int) {
        // Row by row of the result: contiguous stores, strided loads (measured
        // 1.6x faster over the whole tiled run than the other loop order).
        for p in 0 ..< k {
            let dst = packed + p * ldPacked
            for j in 0 ..< columns { dst[j] = scale * rows[j * k + p] }
        }
    }
}
