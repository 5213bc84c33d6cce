/// The two products of the online-softmax step as one register-blocked loop
/// per instruction set:
///
///     C[rows × n] = (accumulate ? C : 0) + A[rows × k] · B[k × n]
///
/// A is read one element at a time and broadcast, so it may be stored
/// row-major (`aRowStride` = its leading dimension, `aColumnStride` = 1) or
/// transposed (1 and its leading dimension). B's rows are read as vectors:
/// `b[p · ldb + j]`, stored as float32 or, where ``loadsHalfPrecision``, as
/// f16 or bf16 and widened in registers (the values of `P · V` as they are
/// stored: one conversion per vector load, no float32 copy through memory).
/// C is row-major with leading dimension `ldc`.
///
/// Both products of attention have this form: the scores `Q_b · Kᵀ` with
/// `Kᵀ` packed per key range (``packTransposed(_:columns:k:scale:into:ldPacked:)``),
/// the outputs `P · V` with V's rows as they are, and in the transposed fold
/// `K · Q_bᵀ` and `(Pᵀ)ᵀ · V` with A transposed.
///
/// Contract: any `rows ≥ 0`, `n ≥ 0`, `k ≥ 0`; C's elements outside
/// `rows × n` are not touched; `n` need not be a multiple of anything
/// (the tail columns take narrower paths).
public protocol TileKernel {
    /// The vector the kernel, and the softmax step beside it, computes with.
    associatedtype Vector: FloatVector
    /// The kernel's entry in ``KernelTable``.
    static var id: KernelID { get }

    static func multiply<B: StorageElement>(
        a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int,
        b: UnsafePointer<B>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, n: Int, k: Int, accumulate: Bool)

    /// The scores of a query block against a key range,
    /// `S[rows × columns] = scale · Q_b · Kᵀ` (rows of `d` floats in both),
    /// into `s` with leading dimension `lds`. Columns of `s` up to the next
    /// whole vector may be written too (with values never read).
    ///
    /// The SIMD kernels pack the key range transposed into `packed` (at
    /// least `d × roundUp(columns)` floats), widening half-precision keys on
    /// the way, and multiply; OpenBLAS reads float32 keys as they are.
    static func scores<E: StorageElement>(
        query: UnsafePointer<Float>, rows: Int, key: UnsafePointer<E>, columns: Int, d: Int,
        scale: Float, packed: UnsafeMutablePointer<Float>, into s: UnsafeMutablePointer<Float>, lds: Int)

    /// Whether ``scores(query:rows:key:columns:d:scale:packed:into:lds:)`` uses `packed`.
    static var packsKeys: Bool { get }

    /// Whether ``multiply(a:aRowStride:aColumnStride:b:ldb:c:ldc:rows:n:k:accumulate:)``
    /// and ``scores(query:rows:key:columns:d:scale:packed:into:lds:)`` take
    /// half-precision B operands and keys; where not, they trap on them, and
    /// the caller widens into float32 first.
    static var loadsHalfPrecision: Bool { get }
}

extension TileKernel {
    @inline(__always)
    public static func scores<E: StorageElement>(
        query: UnsafePointer<Float>, rows: Int, key: UnsafePointer<E>, columns: Int, d: Int,
        scale: Float, packed: UnsafeMutablePointer<Float>, into s: UnsafeMutablePointer<Float>,
        lds: Int
    ) {
        let ld = roundUp(columns)
        packTransposed(key, columns: columns, k: d, scale: scale, into: packed, ldPacked: ld)
        // Columns past `columns` of the packed range hold stale values; the scores they give are never read.
        multiply(
            a: query, aRowStride: d, aColumnStride: 1, b: packed, ldb: ld, c: s, ldc: lds,
            rows: rows, n: ld, k: d, accumulate: false)
    }

    public static var packsKeys: Bool { true }

    public static var loadsHalfPrecision: Bool { true }

    /// Floats per vector.
    @inline(__always) static var width: Int { Vector.scalarCount }

    /// `n` rounded up to whole vectors: the stride of tiles whose rows are
    /// processed a vector at a time.
    @inline(__always) static func roundUp(_ n: Int) -> Int { (n + width - 1) / width * width }

    /// The edges every SIMD kernel shares: C[rows × n] for one column panel
    /// of `panel` floats (a multiple of the width, or the scalar tail when
    /// `panel` is less than the width), one row at a time.
    @inline(__always)
    static func rowEdge<B: StorageElement>(
        a: UnsafePointer<Float>, aColumnStride cs: Int, b: UnsafePointer<B>, ldb: Int,
        c: UnsafeMutablePointer<Float>, columns: Int, k: Int, accumulate: Bool
    ) {
        var j = 0
        while j + width <= columns {
            var sum = Vector()
            for p in 0 ..< k {
                sum = sum.addingProduct(Vector(repeating: a[p * cs]), B.loadVector(b + p * ldb + j, as: Vector.self))
            }
            (accumulate ? Vector.load(c + j) + sum : sum).store(to: c + j)
            j += width
        }
        while j < columns {
            var sum: Float = 0
            for p in 0 ..< k { sum += a[p * cs] * b[p * ldb + j].widened }
            c[j] = accumulate ? c[j] + sum : sum
            j += 1
        }
    }
}

/// Packs `columns` rows of `k` elements (a key range) transposed, widened
/// and scaled: `packed[p · ldPacked + j] = scale · rows[j · k + p]`, so that
/// the range is a kernel's B operand. Nothing past column `columns` is written.
@inline(__always)
func packTransposed<E: StorageElement>(
    _ rows: UnsafePointer<E>, columns: Int, k: Int, scale: Float,
    into packed: UnsafeMutablePointer<Float>, ldPacked: Int
) {
    // Row by row of the result: contiguous stores, strided loads (faster
    // over a whole tiled run than the other loop order, docs/DECISIONS.md).
    for p in 0 ..< k {
        let dst = packed + p * ldPacked
        for j in 0 ..< columns { dst[j] = scale * rows[j * k + p].widened }
    }
}
