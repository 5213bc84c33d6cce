import CBLAS

/// The tile products through OpenBLAS's `cblas_sgemm` (single-threaded
/// inside each worker), with the softmax step at the width `V`.
///
/// OpenBLAS packs both operands and blocks for the cache on every call,
/// which small tiles pay for again and again; it is in the table as the
/// reference point, and for CPUs or builds that no SIMD kernel here fits
/// better. Not register-blocked by this code: MR×NR is OpenBLAS's business.
public enum OpenBLASKernel<V: FloatVector>: TileKernel {
    public typealias Vector = V
    public static var id: KernelID { .openblas }

    @inline(__always)
    public static func multiply<B: StorageElement>(
        a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int,
        b: UnsafePointer<B>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, n: Int, k: Int, accumulate: Bool
    ) {
        guard rows > 0, n > 0 else { return }
        guard k > 0 else {
            if !accumulate { for r in 0 ..< rows { (c + r * ldc).update(repeating: 0, count: n) } }
            return
        }
        // A row-major has column stride 1 (a single row stored transposed
        // does too, and reads the same); otherwise A is stored transposed.
        let transposed = aColumnStride != 1
        let lda = transposed ? aColumnStride : max(aRowStride, k)
        cblas_sgemm(
            CblasRowMajor, transposed ? CblasTrans : CblasNoTrans, CblasNoTrans,
            Int32(rows), Int32(n), Int32(k), 1, a, Int32(lda), b.asFloat32, Int32(ldb),
            accumulate ? 1 : 0, c, Int32(ldc))
    }

    @inline(__always)
    public static func scores<E: StorageElement>(
        query: UnsafePointer<Float>, rows: Int, key: UnsafePointer<E>, columns: Int, d: Int,
        scale: Float, packed: UnsafeMutablePointer<Float>, into s: UnsafeMutablePointer<Float>,
        lds: Int
    ) {
        BLAS.gemmABt(
            m: rows, n: columns, k: d, alpha: scale, a: query, lda: d, b: key.asFloat32, ldb: d, c: s, ldc: lds)
    }

    public static var packsKeys: Bool { false }

    /// `cblas_sgemm` multiplies float32 only: half-precision B operands and
    /// keys are widened by the caller first.
    public static var loadsHalfPrecision: Bool { false }
}
