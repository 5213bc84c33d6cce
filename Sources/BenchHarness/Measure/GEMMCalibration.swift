import Attention
import CBLAS
import Foundation

/// The machine's float32 matrix-multiply rate with the threads a case uses:
/// the yardstick that makes attention figures comparable across runs and
/// machines (useful GFLOP/s ÷ this rate survives the machine's noise).
///
/// The rate is `2·n³ / t` for `cblas_sgemm` on n×n matrices. Of several
/// runs the **fastest** counts: interference, a late-waking thread or a
/// cold cache only ever make a GEMM slower, so the best run is the closest
/// to what the machine can do, and it moves least from one run to the next.
public final class GEMMCalibration {
    public let size: Int
    public let threads: Int
    private let a: AlignedBuffer, b: AlignedBuffer, c: AlignedBuffer

    /// Allocates and fills the operands once (3·n² floats: 48 MiB at n = 2048),
    /// so that repeated checks between cases cost one product each.
    public init(size: Int = 2048, threads: Int) {
        self.size = size
        self.threads = threads
        a = AlignedBuffer(count: size * size)
        b = AlignedBuffer(count: size * size)
        c = AlignedBuffer(count: size * size)
        var g = NormalGenerator(seed: 1)
        g.fill(a.buffer)
        g.fill(b.buffer)
    }

    /// GFLOP/s of the fastest of `reps` products after `warmup` untimed ones.
    public func rate(reps: Int, warmup: Int) -> Double {
        BLAS.setThreads(threads)
        let n = Int32(size)
        let times = Stopwatch.measure(.fixed(warmup: warmup, reps: max(1, reps))) {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1,
                a.baseAddress, n, b.baseAddress, n, 0, c.baseAddress, n)
        }
        let flops = 2 * Double(size) * Double(size) * Double(size)
        return flops / (times.min()! * 1e-3) / 1e9
    }

    /// The careful measurement taken at the start and the end of a sweep and
    /// by `run --calibrate`: the best of 7 runs after one warm-up.
    public func full() -> Double { rate(reps: 7, warmup: 1) }

    /// The cheap check between cases: the better of two products (about
    /// 0.2 s at n = 2048 on two cores). Why two: the first product after an
    /// idle spell often waits for OpenBLAS's sleeping threads, and one run
    /// alone can read far below the careful rate on an idle machine.
    public func quick() -> Double { rate(reps: 2, warmup: 0) }

    /// A one-off careful measurement (allocates, measures, frees).
    public static func sgemmRate(size: Int = 2048, threads: Int) -> Double {
        GEMMCalibration(size: size, threads: threads).full()
    }
}

/// Every sgemm measurement of one sweep, and the rate its rows use.
///
/// The **reference** rate, which rows divide by (`sgemm_gflops`), is the
/// highest of the careful measurements (start, end) and the median of the
/// quick checks between cases: for the reason the fastest run counts within
/// a measurement, the fastest robust measurement counts across them, and a
/// single lucky check cannot move it. A sweep rewrites its rows with the
/// final reference when it ends, so every row of a finished sweep shares one
/// yardstick (an interrupted one keeps the reference known when each row was
/// written). When the start, the end and the median check disagree by more
/// than ``tolerance``, ``warning`` says so: the machine's speed changed
/// under the sweep, and fractions of sgemm are uncertain by about that much.
public struct CalibrationLog: Codable, Sendable, Equatable {
    /// The careful measurement at the start.
    public var start: Double
    /// The quick checks between cases, in order.
    public var checks: [Double] = []
    /// The careful measurement at the end, once the sweep has finished.
    public var end: Double?

    public static let tolerance = 0.10

    public init(start: Double) { self.start = start }

    /// The median of the quick checks, if there are any.
    public var medianCheck: Double? { checks.isEmpty ? nil : checks.sorted()[checks.count / 2] }

    /// The measurements the reference and the agreement are judged on.
    var robust: [Double] { [start] + [end, medianCheck].compactMap { $0 } }

    /// The rate rows are normalized by.
    public var reference: Double { robust.max()! }

    /// (highest − lowest) / highest over the ``robust`` measurements.
    public var spread: Double {
        let values = robust
        return (values.max()! - values.min()!) / values.max()!
    }

    /// Set when the measurements disagree by more than ``tolerance``.
    public var warning: String? {
        guard spread > Self.tolerance else { return nil }
        let checksText = medianCheck.map { String(format: ", checks between cases median %.1f", $0) } ?? ""
        return String(
            format: "sgemm disagreed by %.0f%% during the sweep (tolerance %.0f%%): start %.1f, end %@%@ GFLOP/s; "
                + "the machine's speed changed, rows use the highest (%.1f), fractions of sgemm are uncertain by that much",
            spread * 100, Self.tolerance * 100, start, end.map { String(format: "%.1f", $0) } ?? "not measured",
            checksText, reference)
    }
}
