import Attention
import CComputePeak
import Dispatch
import Foundation

/// An instruction whose peak rate is the compute roof of the kernels that
/// use it: the roofline model's compute ceiling (Williams, Waterman and
/// Patterson; the Empirical Roofline Toolkit measures it the same way).
public enum PeakInstruction: String, Codable, Sendable, CaseIterable, Comparable {
    /// `vfmadd231ps` on 512-bit registers: the AVX-512 tile kernel, and
    /// OpenBLAS's SkylakeX and Cooperlake kernels.
    case fma512 = "fma-512"
    /// `vfmadd231ps` on 256-bit registers: the AVX2 tile kernel, and
    /// OpenBLAS's Haswell and Zen kernels.
    case fma256 = "fma-256"
    /// `vfmadd231ps` on 128-bit registers (a multiply and an add without
    /// FMA3): the portable SIMD4 kernel, and OpenBLAS's SSE kernels.
    case fma128 = "fma-128"
    /// `vdpbf16ps` on 512-bit registers: 64 FLOP of bf16 products summed in
    /// float32, the roof of bf16 dot-product kernels.
    case bf16dot512 = "bf16-dot-512"

    /// The C loop that measures it (`attn_peak_kernel`).
    var kernel: Int32 {
        switch self {
        case .fma512: Int32(ATTN_PEAK_FMA512.rawValue)
        case .fma256: Int32(ATTN_PEAK_FMA256.rawValue)
        case .fma128: Int32(ATTN_PEAK_FMA128.rawValue)
        case .bf16dot512: Int32(ATTN_PEAK_BF16DOT512.rawValue)
        }
    }

    /// Whether this CPU can run it.
    public var isSupported: Bool { attn_peak_supported(kernel) != 0 }

    /// The float32 FMA of a vector of `floats` lanes (16, 8, 4), or nil.
    public static func fma(lanes floats: Int) -> PeakInstruction? {
        switch floats {
        case 16: .fma512
        case 8: .fma256
        case 4: .fma128
        default: nil
        }
    }

    /// The FMA width OpenBLAS's kernels for `core` use: 512 bits for
    /// SkylakeX, Cooperlake and Sapphire Rapids, 256 for the AVX2 and AVX
    /// cores (Haswell, Zen, Sandy Bridge, the Bulldozer family), 128 for the
    /// rest (Prescott, Nehalem and older: SSE).
    public static func openBLAS(core: String) -> PeakInstruction {
        let c = core.lowercased()
        if ["skylakex", "cooperlake", "sapphirerapids"].contains(where: c.contains) { return .fma512 }
        let avx = ["haswell", "zen", "sandybridge", "excavator", "steamroller", "piledriver", "bulldozer"]
        return avx.contains(where: c.contains) ? .fma256 : .fma128
    }

    /// Widest first, as `allCases` lists them; bf16 after the float32 ones.
    public static func < (a: PeakInstruction, b: PeakInstruction) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The peak rate of each instruction this CPU runs, on `threads` threads:
/// the compute roof of the roofline.
///
/// Each thread runs a loop of independent accumulator chains held in
/// registers (24 zmm or 12 ymm/xmm chains: more than latency × pipes on
/// every CPU of this machine kind, so the pipes never wait on a result),
/// every chain started from its own value and read at run time, so that the
/// compiler can neither merge chains nor remove the loop. The threads are
/// dedicated and start together. The rate is
/// `threads × iterations × FLOP per iteration / t` over the wall time of
/// all threads together; of several runs the **fastest** counts, as for
/// ``GEMMCalibration``. A warm-up run first lets the cores reach the
/// frequency they hold under this load (wide vectors can lower it), so the
/// roof is the one a kernel meets.
public final class PeakCalibration {
    public let threads: Int
    /// Seconds one timed run lasts, about.
    public let runSeconds: Double

    public init(threads: Int, runSeconds: Double = 0.02) {
        self.threads = max(1, threads)
        self.runSeconds = runSeconds
    }

    /// The instructions this CPU can run.
    public static var supported: [PeakInstruction] { PeakInstruction.allCases.filter(\.isSupported) }

    /// GFLOP/s of `instruction` on every thread: the fastest of `reps` runs
    /// after `warmup` untimed ones, each about ``runSeconds`` long.
    public func rate(_ instruction: PeakInstruction, reps: Int, warmup: Int) -> Double {
        // Size the runs from a short probe, so every CPU times the same span.
        var iterations = 1 << 14
        while true {
            let t = runOnce(instruction, iterations: iterations)
            if t.isInfinite { return 0 }
            if t >= runSeconds / 4 || iterations >= 1 << 40 {
                iterations = max(1, Int(Double(iterations) * runSeconds / max(t, 1e-9)))
                break
            }
            iterations *= 4
        }
        for _ in 0 ..< warmup { _ = runOnce(instruction, iterations: iterations) }
        var best = Double.infinity
        for _ in 0 ..< max(1, reps) { best = min(best, runOnce(instruction, iterations: iterations)) }
        let flops = Double(threads) * Double(iterations) * attn_peak_flops_per_iteration(instruction.kernel)
        return flops / best / 1e9
    }

    /// Wall seconds of `iterations` iterations on every thread at once, on
    /// dedicated threads started together (a work queue may run two items
    /// one after the other on one thread, which halved the rate in a third
    /// of the runs here). Infinity when the threads could not be started.
    private func runOnce(_ instruction: PeakInstruction, iterations: Int) -> Double {
        let t = attn_peak_time_threads(instruction.kernel, iterations, Int32(threads))
        return t > 0 ? t : .infinity
    }

    /// The careful measurement at the start and the end of a sweep and in
    /// `run --calibrate`: a quarter of a second of warm-up, then every
    /// supported instruction, the best of 5 runs after one warm-up run
    /// (about 0.15 s per instruction).
    public func full() -> [PeakInstruction: Double] {
        warmUp()
        return Dictionary(uniqueKeysWithValues: Self.supported.map { ($0, rate($0, reps: 5, warmup: 1)) })
    }

    /// Runs the widest instruction on every thread for about `seconds`,
    /// untimed. A fresh process's first wide loop ran at 58% of the rate a
    /// later one reached (the cores' frequency and the thread pool come up
    /// first; docs/DECISIONS.md); one 20 ms warm-up run was not enough.
    public func warmUp(seconds: Double = 0.25) {
        guard let widest = Self.supported.first else { return }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline { _ = runOnce(widest, iterations: 1 << 18) }
    }

    /// How the peak is measured, for the report's environment.
    public static let method =
        "register-only loops of independent accumulator chains (24 zmm or 12 ymm/xmm chains per thread, run-time start values), all threads at once; the fastest of 5 runs of about 20 ms after a warm-up"
}

/// The compute-peak measurements of one sweep (start and end), and the rate
/// rows use: the higher of the two per instruction (interference only ever
/// lowers a register-only loop's rate).
public struct PeakLog: Sendable, Equatable {
    public var start: [PeakInstruction: Double]
    public var end: [PeakInstruction: Double]?

    public init(start: [PeakInstruction: Double]) { self.start = start }

    /// The rate rows are placed against, per instruction.
    public var reference: [PeakInstruction: Double] {
        start.merging(end ?? [:]) { max($0, $1) }
    }

    /// (highest − lowest) / highest of the start and the end, per instruction.
    public var spread: [PeakInstruction: Double] {
        Dictionary(
            uniqueKeysWithValues: start.map { i, s in
                let e = end?[i] ?? s
                return (i, abs(s - e) / max(s, e))
            })
    }

    /// Set when the start and the end disagree by more than
    /// ``CalibrationLog/tolerance`` for some instruction.
    public var warning: String? {
        let moved = spread.filter { $0.value > CalibrationLog.tolerance }.keys.sorted()
        guard !moved.isEmpty else { return nil }
        return moved.map { i in
            String(
                format:
                    "the %@ peak disagreed by %.0f%% during the sweep (tolerance %.0f%%): start %.1f, end %.1f GFLOP/s; rows use the higher",
                i.rawValue, spread[i]! * 100, CalibrationLog.tolerance * 100, start[i] ?? 0, end?[i] ?? 0)
        }.joined(separator: "; ")
    }
}

extension PeakInstruction {
    /// The instruction whose peak bounds `result`'s kernel: the FMA of a
    /// tile kernel's vector width, of OpenBLAS's core for `dense` and the
    /// `openblas` kernel, of a peer's reported CPU capability (`AVX512`,
    /// `AVX2`, `DEFAULT`). When that one was not measured here, or the
    /// kernel is unknown, the widest float32 FMA that was.
    public static func forResult(_ r: CaseResult, available: [PeakInstruction]) -> PeakInstruction? {
        var wanted: PeakInstruction?
        if r.kernelChoice == "peer" {
            let capability = r.blas.core.uppercased()
            wanted =
                capability.contains("AVX512")
                ? .fma512
                : capability.contains("AVX2") ? .fma256 : capability.contains("DEFAULT") ? .fma128 : nil
        } else if let name = r.execution?.kernel, let id = KernelID(rawValue: String(name.prefix { $0 != "-" })) {
            wanted =
                id == .openblas ? .openBLAS(core: r.blas.core) : .fma(lanes: KernelTable.descriptor(id).vectorFloats)
        }
        if let wanted, available.contains(wanted) { return wanted }
        return available.filter { $0 != .bf16dot512 }.sorted().first
    }
}
