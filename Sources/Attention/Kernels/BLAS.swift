import CBLAS

/// The matrix products attention and its gradients need, as thin row-major wrappers over
/// OpenBLAS's `cblas_sgemm`, plus its thread control.
public enum BLAS {
    /// `C[m×n] = alpha · A[m×k] · B[n×k]ᵀ` (scores: Q·Kᵀ).
    @inline(__always)
    static func gemmABt(
        m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// `C[m×n] = A[m×k] · B[k×n] + beta · C` (outputs: P·V).
    @inline(__always)
    static func gemmAB(
        m: Int, n: Int, k: Int, beta: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
            1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C[m×n] = A[k×m]ᵀ · B[k×n] + beta · C` (gradients: Pᵀ·dO, dSᵀ·Q).
    @inline(__always)
    static func gemmAtB(
        m: Int, n: Int, k: Int, beta: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
            1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Sets OpenBLAS's own thread count (global to the process).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
