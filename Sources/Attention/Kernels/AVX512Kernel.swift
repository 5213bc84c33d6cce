/// The AVX-512 tile kernel: 4 rows × 64 columns of C in registers.
///
/// Register budget (32 zmm of 16 floats): 16 accumulators (4 rows × 4
/// vectors) + 4 B vectors + 1 broadcast = 21. Each step of k does 16
/// fused multiply-adds for 4 loads and 4 broadcasts.
///
/// About twice OpenBLAS's rate on the tile shapes (docs/DECISIONS.md).
/// Requires a build for an AVX-512 CPU: elsewhere `SIMD16` is split into
/// narrower registers and this block spills.
public enum AVX512Kernel: TileKernel {
    public typealias Vector = SIMD16<Float>
    public static var id: KernelID { .avx512 }

    @inline(__always)
    public static func multiply<B: StorageElement>(
        a: UnsafePointer<Float>, aRowStride rs: Int, aColumnStride cs: Int,
        b: UnsafePointer<B>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, n: Int, k: Int, accumulate: Bool
    ) {
        var j = 0
        while j + 64 <= n {
            var r = 0
            while r + 4 <= rows {
                block4x64(
                    a: a + r * rs, rs: rs, cs: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, ldc: ldc, k: k,
                    accumulate: accumulate)
                r += 4
            }
            while r < rows {
                rowEdge(
                    a: a + r * rs, aColumnStride: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, columns: 64, k: k,
                    accumulate: accumulate)
                r += 1
            }
            j += 64
        }
        if j < n {
            for r in 0 ..< rows {
                rowEdge(
                    a: a + r * rs, aColumnStride: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, columns: n - j, k: k,
                    accumulate: accumulate)
            }
        }
    }

    /// Four rows by 64 columns: the hot loop.
    @inline(__always)
    static func block4x64<B: StorageElement>(
        a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<B>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, k: Int, accumulate: Bool
    ) {
        typealias V = Vector
        var c00 = V(), c01 = V(), c02 = V(), c03 = V()
        var c10 = V(), c11 = V(), c12 = V(), c13 = V()
        var c20 = V(), c21 = V(), c22 = V(), c23 = V()
        var c30 = V(), c31 = V(), c32 = V(), c33 = V()
        let a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs
        for p in 0 ..< k {
            let q = p * cs
            let row = b + p * ldb
            let b0 = B.loadVector(row, as: V.self), b1 = B.loadVector(row + 16, as: V.self)
            let b2 = B.loadVector(row + 32, as: V.self), b3 = B.loadVector(row + 48, as: V.self)
            let s0 = V(repeating: a0[q]), s1 = V(repeating: a1[q]), s2 = V(repeating: a2[q]), s3 = V(repeating: a3[q])
            c00 = c00.addingProduct(s0, b0)
            c01 = c01.addingProduct(s0, b1)
            c02 = c02.addingProduct(s0, b2)
            c03 = c03.addingProduct(s0, b3)
            c10 = c10.addingProduct(s1, b0)
            c11 = c11.addingProduct(s1, b1)
            c12 = c12.addingProduct(s1, b2)
            c13 = c13.addingProduct(s1, b3)
            c20 = c20.addingProduct(s2, b0)
            c21 = c21.addingProduct(s2, b1)
            c22 = c22.addingProduct(s2, b2)
            c23 = c23.addingProduct(s2, b3)
            c30 = c30.addingProduct(s3, b0)
            c31 = c31.addingProduct(s3, b1)
            c32 = c32.addingProduct(s3, b2)
            c33 = c33.addingProduct(s3, b3)
        }
        store(c, accumulate, c00, c01, c02, c03)
        store(c + ldc, accumulate, c10, c11, c12, c13)
        store(c + 2 * ldc, accumulate, c20, c21, c22, c23)
        store(c + 3 * ldc, accumulate, c30, c31, c32, c33)
    }

    /// Writes (or adds) one row of four vectors. Unrolled by hand: an array
    /// literal here allocated on every call.
    @inline(__always)
    static func store(
        _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool,
        _ x0: Vector, _ x1: Vector, _ x2: Vector, _ x3: Vector
    ) {
        if accumulate {
            (Vector.load(c) + x0).store(to: c)
            (Vector.load(c + 16) + x1).store(to: c + 16)
            (Vector.load(c + 32) + x2).store(to: c + 32)
            (Vector.load(c + 48) + x3).store(to: c + 48)
        } else {
            x0.store(to: c)
            x1.store(to: c + 16)
            x2.store(to: c + 32)
            x3.store(to: c + 48)
        }
    }
}
