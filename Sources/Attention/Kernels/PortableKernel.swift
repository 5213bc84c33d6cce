/// The portable tile kernel: 4 rows × 8 columns of C in `SIMD4` registers,
/// correct on any CPU Swift targets (SSE2 on every x86-64, NEON on arm64).
///
/// Register budget (16 xmm of 4 floats on x86-64, 32 on arm64): 8
/// accumulators + 2 B vectors + 1 broadcast = 11. The fallback where no
/// wider kernel fits the build and the CPU.
public enum PortableKernel: TileKernel {
    public typealias Vector = SIMD4<Float>
    public static var id: KernelID { .portable }

    @inline(__always)
    public static func multiply<B: StorageElement>(
        a: UnsafePointer<Float>, aRowStride rs: Int, aColumnStride cs: Int,
        b: UnsafePointer<B>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, n: Int, k: Int, accumulate: Bool
    ) {
        typealias V = Vector
        var j = 0
        while j + 8 <= n {
            var r = 0
            while r + 4 <= rows {
                var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
                let a0 = a + r * rs, a1 = a0 + rs, a2 = a0 + 2 * rs, a3 = a0 + 3 * rs
                for p in 0 ..< k {
                    let q = p * cs
                    let row = b + p * ldb + j
                    let b0 = B.loadVector(row, as: V.self), b1 = B.loadVector(row + 4, as: V.self)
                    var s = V(repeating: a0[q])
                    c00 = c00.addingProduct(s, b0)
                    c01 = c01.addingProduct(s, b1)
                    s = V(repeating: a1[q])
                    c10 = c10.addingProduct(s, b0)
                    c11 = c11.addingProduct(s, b1)
                    s = V(repeating: a2[q])
                    c20 = c20.addingProduct(s, b0)
                    c21 = c21.addingProduct(s, b1)
                    s = V(repeating: a3[q])
                    c30 = c30.addingProduct(s, b0)
                    c31 = c31.addingProduct(s, b1)
                }
                let out = c + r * ldc + j
                store(out, accumulate, c00, c01)
                store(out + ldc, accumulate, c10, c11)
                store(out + 2 * ldc, accumulate, c20, c21)
                store(out + 3 * ldc, accumulate, c30, c31)
                r += 4
            }
            while r < rows {
                rowEdge(
                    a: a + r * rs, aColumnStride: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, columns: 8, k: k,
                    accumulate: accumulate)
                r += 1
            }
            j += 8
        }
        if j < n {
            for r in 0 ..< rows {
                rowEdge(
                    a: a + r * rs, aColumnStride: cs, b: b + j, ldb: ldb, c: c + r * ldc + j, columns: n - j, k: k,
                    accumulate: accumulate)
            }
        }
    }

    /// Writes (or adds) one row of two vectors, one call per row: an array
    /// literal of rows here would allocate on every block.
    @inline(__always)
    static func store(_ c: UnsafeMutablePointer<Float>, _ accumulate: Bool, _ x0: Vector, _ x1: Vector) {
        (accumulate ? Vector.load(c) + x0 : x0).store(to: c)
        (accumulate ? Vector.load(c + 4) + x1 : x1).store(to: c + 4)
    }
}
