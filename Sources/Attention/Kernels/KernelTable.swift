import CTargetFeatures

/// The tile kernels, by the name `--kernel` takes.
public enum KernelID: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case avx512
    case avx2
    case portable
    case openblas

    public var description: String { rawValue }
}

/// What the table knows of a kernel: its register block, what it needs, and
/// the tile shapes that suit it.
public struct KernelDescriptor: Sendable {
    public let id: KernelID
    /// Rows × columns of C held in registers (MR×NR); nil for OpenBLAS,
    /// which blocks for itself.
    public let registerBlock: (rows: Int, columns: Int)?
    /// Floats per vector, of the kernel and of the softmax step beside it.
    public let vectorFloats: Int
    /// What the CPU and the build must have.
    public let requires: String
    /// The register arithmetic, for `attnbench list`.
    public let registerBudget: String
    /// The tiled strategy's tile with this kernel when none is given
    /// (measured, see docs/DECISIONS.md).
    public let tiledTile: TileSize
    /// Query rows per block of the sliding strategy when no tile is given.
    public let slidingRows: Int
    /// The widest key range the block-sparse strategy folds at once.
    public let blockSparseColumns: Int
    /// Whether scattered key ranges are copied together before one product
    /// (OpenBLAS) rather than read in place by the transposed fold.
    public let gathersByCopy: Bool
    /// Whether the tiled and sliding strategies fold their key ranges
    /// through the transposed scores `Sᵀ = K·Q_bᵀ` (Q_b packed once per
    /// query block; the mask applied in that layout) rather than row-wise
    /// (each key range packed for every query block). Block-sparse always
    /// does, for its scattered ranges.
    public let foldsTransposed: Bool

    /// `avx2-6x16`: the id and the register block.
    public var name: String {
        registerBlock.map { "\(id.rawValue)-\($0.rows)x\($0.columns)" } ?? id.rawValue
    }
}

/// One table of kernels, the way BLIS configures a micro-kernel per
/// architecture: every choice of kernel in the strategies asks it, and
/// nothing else tests vector widths or head dims.
///
/// A kernel is *available* when the running CPU has its instructions **and**
/// the build was compiled for them (a build for another CPU, such as
/// `-target-cpu haswell` on an AVX-512 machine, has no AVX-512 code even
/// where the CPU could run it). The default is the first available of
/// `avx512`, `avx2`, `portable`.
public enum KernelTable {
    public static let all: [KernelDescriptor] = [
        KernelDescriptor(
            id: .avx512, registerBlock: (4, 64), vectorFloats: 16, requires: "AVX-512F (CPU and build)",
            registerBudget: "16 accumulators + 4 B vectors + 1 broadcast = 21 of 32 zmm",
            tiledTile: TileSize(validRows: 256, columns: 512), slidingRows: 64, blockSparseColumns: 512,
            gathersByCopy: false, foldsTransposed: false),
        KernelDescriptor(
            id: .avx2, registerBlock: (6, 16), vectorFloats: 8, requires: "AVX2 and FMA (CPU and build)",
            registerBudget: "12 accumulators + 2 B vectors + 1 broadcast = 15 of 16 ymm",
            tiledTile: TileSize(validRows: 96, columns: 512), slidingRows: 48, blockSparseColumns: 512,
            gathersByCopy: false, foldsTransposed: true),
        KernelDescriptor(
            id: .portable, registerBlock: (4, 8), vectorFloats: 4, requires: "nothing (SIMD4: SSE2, NEON)",
            registerBudget: "8 accumulators + 2 B vectors + 1 broadcast = 11 of 16 xmm",
            tiledTile: TileSize(validRows: 64, columns: 256), slidingRows: 64, blockSparseColumns: 512,
            gathersByCopy: false, foldsTransposed: true),
        KernelDescriptor(
            id: .openblas, registerBlock: nil, vectorFloats: 0, requires: "OpenBLAS (any CPU)",
            registerBudget: "OpenBLAS's own kernels for this CPU; packs both operands per call",
            tiledTile: TileSize(validRows: 128, columns: 512), slidingRows: 64, blockSparseColumns: 512,
            gathersByCopy: true, foldsTransposed: false),
    ]

    public static func descriptor(_ id: KernelID) -> KernelDescriptor { all.first { $0.id == id }! }

    /// Why `id` cannot run here, or nil when it can (asked of cpuid once).
    public static func unavailability(_ id: KernelID) -> String? { reasons[id] ?? nil }

    private static let reasons: [KernelID: String?] = Dictionary(
        uniqueKeysWithValues: KernelID.allCases.map { ($0, check($0)) })

    private static func check(_ id: KernelID) -> String? {
        switch id {
        case .avx512:
            if attn_cpu_has_avx512f() == 0 { return "this CPU has no AVX-512F" }
            if attn_build_has_avx512f() == 0 { return "this build was not compiled for AVX-512 (see -target-cpu)" }
        case .avx2:
            if attn_cpu_has_avx2_fma() == 0 { return "this CPU has no AVX2 and FMA" }
            if attn_build_has_avx2_fma() == 0 {
                return "this build was not compiled for AVX2 and FMA (see -target-cpu)"
            }
        case .portable, .openblas:
            break
        }
        return nil
    }

    /// The kernels that can run here, in the table's order.
    public static var available: [KernelID] { all.map(\.id).filter { unavailability($0) == nil } }

    /// The widest SIMD kernel that can run here.
    public static var defaultKernel: KernelID {
        [KernelID.avx512, .avx2].first { unavailability($0) == nil } ?? .portable
    }

    /// Parses `avx2` or a full name such as `avx2-6x16`.
    ///
    /// - Throws: ``AttentionError/unknownKernel(_:known:)``.
    public static func parse(_ text: String) throws -> KernelID {
        if let id = KernelID(rawValue: text) ?? all.first(where: { $0.name == text })?.id { return id }
        throw AttentionError.unknownKernel(text, known: all.map(\.name))
    }

    /// Checks that `id` can run here.
    ///
    /// - Throws: ``AttentionError/kernelUnavailable(_:reason:)``.
    public static func require(_ id: KernelID) throws {
        if let why = unavailability(id) { throw AttentionError.kernelUnavailable(descriptor(id).name, reason: why) }
    }
}

extension KernelTable {
    /// ``TileKernel/multiply(a:aRowStride:aColumnStride:b:ldb:c:ldc:rows:n:k:accumulate:)``
    /// with the kernel `id`, which must be available.
    public static func multiply<B: StorageElement>(
        _ id: KernelID, a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int,
        b: UnsafePointer<B>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, n: Int, k: Int, accumulate: Bool
    ) {
        precondition(unavailability(id) == nil, "kernel \(id) cannot run here")
        id.dispatch(
            Multiply(
                a: a, aRowStride: aRowStride, aColumnStride: aColumnStride, b: b, ldb: ldb, c: c, ldc: ldc,
                rows: rows, n: n, k: k, accumulate: accumulate))
    }

    private struct Multiply<B: StorageElement>: KernelBody {
        let a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int
        let b: UnsafePointer<B>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int
        let rows: Int, n: Int, k: Int, accumulate: Bool

        func run<K: TileKernel>(_ kernel: K.Type) {
            K.multiply(
                a: a, aRowStride: aRowStride, aColumnStride: aColumnStride, b: b, ldb: ldb, c: c, ldc: ldc,
                rows: rows, n: n, k: k, accumulate: accumulate)
        }
    }
}

/// Work to do with one kernel's type: the one place where the run-time
/// choice of kernel becomes a compile-time type, so that the hot loops are
/// specialized for it.
protocol KernelBody {
    associatedtype Result
    func run<K: TileKernel>(_ kernel: K.Type) -> Result
}

extension KernelID {
    /// Runs `body` with this kernel's type. OpenBLAS's softmax step works at
    /// the width of the default SIMD kernel.
    func dispatch<B: KernelBody>(_ body: B) -> B.Result {
        switch self {
        case .avx512: return body.run(AVX512Kernel.self)
        case .avx2: return body.run(AVX2Kernel.self)
        case .portable: return body.run(PortableKernel.self)
        case .openblas:
            switch KernelTable.defaultKernel {
            case .avx512: return body.run(OpenBLASKernel<SIMD16<Float>>.self)
            case .avx2: return body.run(OpenBLASKernel<SIMD8<Float>>.self)
            default: return body.run(OpenBLASKernel<SIMD4<Float>>.self)
            }
        }
    }
}
