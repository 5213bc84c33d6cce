import Attention
import CBLAS

/// The machine's float32 matrix-multiply rate with the threads a case uses:
/// the yardstick that makes attention figures comparable across runs and
/// machines (useful GFLOP/s ÷ this rate survives the machine's noise).
public enum GEMMCalibration {
    /// GFLOP/s of `cblas_sgemm` on `size`³ float32 matrices from the median
    /// of `reps` runs after one warm-up (the statistic the cases use), with
    /// OpenBLAS on `threads` threads. FLOPs are 2·size³.
    public static func sgemmRate(size: Int = 2048, threads: Int, reps: Int = 5) -> Double {
        let a = AlignedBuffer(count: size * size), b = AlignedBuffer(count: size * size)
        let c = AlignedBuffer(count: size * size)
        var g = NormalGenerator(seed: 1)
        g.fill(a.buffer); g.fill(b.buffer)
        BLAS.setThreads(threads)
        let n = Int32(size)
        let times = Stopwatch.measure(.fixed(warmup: 1, reps: reps)) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1,
                        a.baseAddress, n, b.baseAddress, n, 0, c.baseAddress, n)
        }
        let flops = 2 * Double(size) * Double(size) * Double(size)
        return flops / (times.sorted()[times.count / 2] * 1e-3) / 1e9
    }
}
