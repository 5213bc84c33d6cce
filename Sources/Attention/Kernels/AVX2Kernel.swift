/// The AVX2 + FMA tile kernel: 6 rows × 16 columns of C in registers.
///
/// Register budget (16 ymm of 8 floats): 12 accumulators (6 rows × 2
/// vectors) + 2 B vectors + 1 broadcast = 15. Each step of k does 12 fused
/// multiply-adds for 2 loads and 6 broadcasts, so the two FMA pipes, not the
/// loads, set the pace. (The AVX-512 kernel's 4 × 64 block would need 32
/// accumulators here, twice the registers there are: it spills, and ran at
/// a third of this block's rate.)
public enum AVX2Kernel: TileKernel {
    public typealias Vector = SIMD8<Float>
    public static var id: KernelID { .avx2 }

    @inline(__always)
    public static func multiply(a: UnsafePointer<Float>, aRowStride rs: Int, aColumnStride cs: Int,
                                b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                rows: Int, n: Int, k: Int, accumulate: Bool) {
        var j = 0
        while j + 16 <= n {
            var r = 0
            while r + 6 <= rows {
                block6x16(a: a + r * rs, rs: rs, cs: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, ldc: ldc, k: k,
                          accumulate: accumulate)
                r += 6
            }
            if r + 3 <= rows {
                block3x16(a: a + r * rs, rs: rs, cs: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, ldc: ldc, k: k,
                          accumulate: accumulate)
                r += 3
            }
            while r < rows {
                rowEdge(a: a + r * rs, aColumnStride: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, columns: 16, k: k,
                        accumulate: accumulate)
                r += 1
            }
            j += 16
        }
        if j < n {
            for r in 0 ..< rows {
                rowEdge(a: a + r * rs, aColumnStride: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, columns: n - j, k: k,
                        accumulate: accumulate)
            }
        }
    }

    /// Six rows by 16 columns: the hot loop.
    @inline(__always)
    static func block6x16(a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, k: Int, accumulate: Bool) {
        typealias V = Vector
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        let a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs, a4 = a + 4 * rs, a5 = a + 5 * rs
        for p in 0 ..< k {
            let q = p * cs
            let row = b + p * ldb
            let b0 = V.load(row), b1 = V.load(row + 8)
            var s = V(repeating: a0[q])
            c00 = c00.addingProduct(s, b0); c01 = c01.addingProduct(s, b1)
            s = V(repeating: a1[q])
            c10 = c10.addingProduct(s, b0); c11 = c11.addingProduct(s, b1)
            s = V(repeating: a2[q])
            c20 = c20.addingProduct(s, b0); c21 = c21.addingProduct(s, b1)
            s = V(repeating: a3[q])
            c30 = c30.addingProduct(s, b0); c31 = c31.addingProduct(s, b1)
            s = V(repeating: a4[q])
            c40 = c40.addingProduct(s, b0); c41 = c41.addingProduct(s, b1)
            s = V(repeating: a5[q])
            c50 = c50.addingProduct(s, b0); c51 = c51.addingProduct(s, b1)
        }
        store(c, accumulate, c00, c01)
        store(c + ldc, accumulate, c10, c11)
        store(c + 2 * ldc, accumulate, c20, c21)
        store(c + 3 * ldc, accumulate, c30, c31)
        store(c + 4 * ldc, accumulate, c40, c41)
        store(c + 5 * ldc, accumulate, c50, c51)
    }

    /// Three rows by 16 columns: the rows left over by a block of 6.
    @inline(__always)
    static func block3x16(a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, k: Int, accumulate: Bool) {
        typealias V = Vector
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        let a0 = a, a1 = a + rs, a2 = a + 2 * rs
        for p in 0 ..< k {
            let q = p * cs
            let row = b + p * ldb
            let b0 = V.load(row), b1 = V.load(row + 8)
            var s = V(repeating: a0[q])
            c00 = c00.addingProduct(s, b0); c01 = c01.addingProduct(s, b1)
            s = V(repeating: a1[q])
            c10 = c10.addingProduct(s, b0); c11 = c11.addingProduct(s, b1)
            s = V(repeating: a2[q])
            c20 = c20.addingProduct(s, b0); c21 = c21.addingProduct(s, b1)
        }
        store(c, accumulate, c00, c01)
        store(c + ldc, accumulate, c10, c11)
        store(c + 2 * ldc, accumulate, c20, c21)
    }

    @inline(__always)
    static func store(_ c: UnsafeMutablePointer<Float>, _ accumulate: Bool, _ x0: Vector, _ x1: Vector) {
        if accumulate {
            (Vector.load(c) + x0).store(to: c)
            (Vector.load(c + 8) + x1).store(to: c + 8)
        } else {
            x0.store(to: c)
            x1.store(to: c + 8)
        }
    }
}
