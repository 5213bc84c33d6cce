import CBLAS
import Foundation

/// Which OpenBLAS kernels this process runs, and the decision that put them
/// there.
///
/// Debian's OpenBLAS 0.3.21 picks its kernels from the CPU model when the
/// library loads. On CPUs newer than it knows it falls back to old SSE3
/// ("Prescott") kernels, about 5x slower than the AVX-512 ones, and every
/// figure measured with them is wrong for the machine. The library reads
/// `OPENBLAS_CORETYPE` only while loading, before `main`, so fixing it means
/// setting the variable and re-executing the program once
/// (``prepareProcess(arguments:)``).
public struct BLASEnvironment: Codable, Sendable, Equatable {
    /// `openblas_get_corename()`, e.g. `SkylakeX`, `Haswell`, `Prescott`.
    public var core: String
    /// `openblas_get_config()`: version, DYNAMIC_ARCH, MAX_THREADS.
    public var config: String
    /// Who chose the core: `openblas` (its own detection), `environment`
    /// (OPENBLAS_CORETYPE set by the user or the machine) or `attnbench`
    /// (re-executed with a better core).
    public var source: String
    /// A warning when the kernels are slower than the CPU allows, else empty.
    public var warning: String

    /// The kernels of this process, as OpenBLAS reports them.
    public static func current() -> BLASEnvironment {
        let env = ProcessInfo.processInfo.environment
        let core = String(cString: openblas_get_corename())
        let config = String(cString: openblas_get_config()).trimmingCharacters(in: .whitespaces)
        let cpu = CPUFeatures.current()
        let decision = KernelDecision.decide(
            cpu: cpu, core: core, requested: env[coreVariable],
            alreadyReexecuted: env[reexecMarker] != nil)
        var source = "openblas"
        if let was = env[reexecMarker] {
            source = "attnbench (OpenBLAS chose \(was))"
        } else if env[coreVariable] != nil {
            source = "environment"
        }
        var warning = ""
        if case .warn(let w) = decision { warning = w }
        return BLASEnvironment(core: core, config: config, source: source, warning: warning)
    }

    static let coreVariable = "OPENBLAS_CORETYPE"
    static let reexecMarker = "ATTNBENCH_BLAS_REEXEC_FROM"

    /// Call first thing in `main`: when OpenBLAS chose kernels older than the
    /// CPU supports and the user did not choose, re-executes this program
    /// with `OPENBLAS_CORETYPE` set (once) and says so on stderr; when the
    /// user's (or the machine's) choice is slower than the CPU allows, warns.
    /// Returns only when no re-execution happens.
    public static func prepareProcess(arguments: [String]) {
        let env = ProcessInfo.processInfo.environment
        let core = String(cString: openblas_get_corename())
        let decision = KernelDecision.decide(
            cpu: .current(), core: core, requested: env[coreVariable],
            alreadyReexecuted: env[reexecMarker] != nil)
        switch decision {
        case .keep: return
        case .warn(let message):
            if env["ATTNBENCH_QUIET_BLAS"] == nil {
                FileHandle.standardError.write(Data("attnbench: warning: \(message)\n".utf8))
            }
        case .reexecute(let better):
            FileHandle.standardError.write(
                Data(
                    "attnbench: OpenBLAS chose its '\(core)' kernels on a CPU that supports '\(better)'; re-running with \(coreVariable)=\(better)\n"
                        .utf8))
            setenv(coreVariable, better, 1)
            setenv(reexecMarker, core, 1)
            var cArgs = arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", &cArgs)
            // execv returns only on failure: go on with the slow kernels, loudly.
            FileHandle.standardError.write(
                Data(
                    "attnbench: warning: could not re-execute (\(String(cString: strerror(errno)))); measuring with slow '\(core)' kernels\n"
                        .utf8))
        }
    }
}

/// What to do about the OpenBLAS kernels; a pure function of the facts, so
/// it can be tested on any machine.
public enum KernelDecision: Equatable, Sendable {
    case keep
    case warn(String)
    case reexecute(coreType: String)

    /// OpenBLAS core names by the widest vector unit their kernels use.
    static let avx512Cores: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]
    static let avx2Cores: Set<String> = avx512Cores.union(["Haswell", "Zen"])

    public static func decide(
        cpu: CPUFeatures, core: String, requested: String?,
        alreadyReexecuted: Bool
    ) -> KernelDecision {
        let best: String? = cpu.avx512f ? "SkylakeX" : (cpu.avx2 && cpu.fma ? "Haswell" : nil)
        guard let best else { return .keep }
        let fastEnough = cpu.avx512f ? avx512Cores.contains(core) : avx2Cores.contains(core)
        if fastEnough { return .keep }
        if let requested {
            return .warn(
                "OPENBLAS_CORETYPE=\(requested) is set in the environment and obeyed: OpenBLAS runs its '\(core)' kernels, "
                    + "but this CPU supports '\(best)' (\(cpu.avx512f ? "AVX-512" : "AVX2")); GEMM-bound figures will be lower than the machine can do. "
                    + "Unset OPENBLAS_CORETYPE to let attnbench choose.")
        }
        if alreadyReexecuted {
            return .warn(
                "OpenBLAS still runs '\(core)' kernels after re-executing with OPENBLAS_CORETYPE=\(best); figures are slow"
            )
        }
        return .reexecute(coreType: best)
    }
}
