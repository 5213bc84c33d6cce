import Foundation

/// The naive baseline: per (batch, head) it materializes all Nq×Nk scores.
///
///     S = scale·log₂e · Q·Kᵀ          (cblas_sgemm)
///     S = −∞ where the mask excludes a pair
///     P = 2^(S − rowmax S)            (vectorized ``exp2(_:)``)
///     O = (P·V) / rowsum P            (cblas_sgemm, then a row scaling)
///
/// It supports every pattern but skips no work: masked pairs are computed and
/// then thrown away, which is exactly what the other strategies are measured
/// against.
///
/// Half precision: OpenBLAS multiplies float32 only, so each head's Q, K
/// and V are widened into float32 copies before the products, and O is
/// computed in float32 and rounded as it is stored.
///
/// Threads: one (batch, head) at a time, each of the three passes split by
/// rows over `threads` workers, with OpenBLAS single-threaded inside each:
/// one pool of threads, never two. (OpenBLAS's own threads spin and yield
/// between calls and fought the softmax workers for the cores, which made
/// dense's times swing from one process to the next.)
///
/// - Complexity: O(B·H·Nq·Nk·d) time; one Nq×Nk float32 score matrix (and
///   in half precision one head's Q, K, V and O in float32).
public struct DenseAttention: AttentionStrategy {
    /// The score matrix kept between calls (see ``WorkspacePool``).
    let workspaces = WorkspacePool()

    public init() {}

    /// Reads no options: OpenBLAS does the products.
    public init(options: StrategyOptions) { self.init() }

    public static let name = "dense"
    public static let benchmarkPattern = MaskPattern.causal

    /// Every pair: the masked ones are computed and then thrown away.
    public func computedPairs(_ mask: AttentionMask) -> Int { mask.queryLength * mask.keyLength }

    public var summary: String {
        "materializes the Nq×Nk scores per head with sgemm, masks, softmax, sgemm; half inputs widened per head"
    }
    public var supportedKinds: Set<MaskPattern.Kind> { Set(MaskPattern.Kind.allCases) }

    /// No tile kernel: OpenBLAS does the products.
    public var tileKernel: KernelID? { nil }

    /// OpenBLAS does the products; the softmax runs at the default kernel's width.
    public func execution(shape: AttentionShape, mask: AttentionMask) -> StrategyExecution {
        StrategyExecution(kernel: KernelID.openblas.rawValue, tile: nil)
    }

    /// Nothing to tune: the products are whole-matrix GEMMs.
    public func tuningCandidates(shape: AttentionShape, mask: AttentionMask) -> [TileSize] { [] }

    public func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int, precision: Precision)
        -> Int
    {
        // scores + row sums, in Double: Nq·Nk·4 can exceed Int for shapes that are only ever predicted
        let (nq, nk) = (Double(shape.queryLength), Double(shape.keyLength))
        let bytes = (nq * nk + nq) * 4 + Double(Self.widenedFloats(shape: shape, precision: precision)) * 4
        return bytes < Double(Int.max) ? Int(bytes) : Int.max
    }

    /// The floats of the float32 copies a half-precision pass works in: one
    /// head's Q and O (Nq·d each) and K and V (Nk·d each); none in float32,
    /// so a float32 pass allocates nothing more.
    static func widenedFloats(shape: AttentionShape, precision: Precision) -> Int {
        precision == .f32 ? 0 : 2 * shape.headDim * (shape.queryLength + shape.keyLength)
    }

    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int) throws {
        try validate(inputs, mask: mask, output: output, threads: threads)
        try run(inputs, mask: mask, output: output, logSumExp: nil, threads: threads)
    }

    /// The forward pass; with `logSumExp`, also each row's (``SavedForward``).
    private func run(
        _ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, logSumExp: Tensor?, threads: Int
    ) throws {
        let shape = inputs.shape
        let (nq, nk) = (shape.queryLength, shape.keyLength)
        let scratchKey = "scores \(nq)x\(nk)"
        // Written before read.
        let scratch = workspaces.take(scratchKey) { AlignedBuffer(count: nq * nk + nq, zeroed: false) }
        let widenedCount = Self.widenedFloats(shape: shape, precision: inputs.precision)
        let widenedKey = widenedCount == 0 ? "" : "widened \(widenedCount)"
        let widened =
            widenedCount == 0 ? nil : workspaces.take(widenedKey) { AlignedBuffer(count: widenedCount, zeroed: false) }
        defer {
            workspaces.give(scratchKey, scratch)
            if let widened { workspaces.give(widenedKey, widened) }
        }
        inputs.precision.dispatch(
            DenseElements(
                inputs: inputs, mask: mask, output: output, threads: threads, scratch: scratch,
                widened: widened, logSumExp: logSumExp))
    }
}

// MARK: The backward pass

extension DenseAttention {
    /// f32 inputs only: the products read the tensors in place.
    public func backwardUnavailability(precision: Precision) -> String? { float32BackwardUnavailability(precision) }

    /// The forward, then each row's log-sum-exp from the kept row sums.
    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, saving saved: SavedForward, threads: Int)
        throws
    {
        try validateBackward(inputs, mask: mask, saved: saved, outputGradient: nil, gradients: nil, threads: threads)
        try run(inputs, mask: mask, output: saved.output, logSumExp: saved.logSumExp, threads: threads)
    }

    /// The gradients with OpenBLAS, one head at a time: P (recomputed from
    /// the saved log-sum-exp with one sgemm) and dS are materialized, Nq×Nk
    /// each, and the four products are whole-matrix GEMMs:
    ///
    ///     P = 2^(scale·log₂e·Q·Kᵀ − log₂e·L),  dS = scale · P ∘ (dO·Vᵀ − D)
    ///     dV += Pᵀ·dO,  dK += dSᵀ·Q,  dQ = dS·K
    ///
    /// Why recompute P rather than keep it from the forward: kept, it would
    /// hold every head's B·H·Nq·Nk floats between the passes; recomputed, one
    /// head's at a time, for one more sgemm of the forward's size.
    public func backward(
        _ inputs: AttentionInputs, mask: AttentionMask, saved: SavedForward, outputGradient: Tensor,
        into gradients: AttentionGradients, threads: Int
    ) throws {
        try validateBackward(
            inputs, mask: mask, saved: saved, outputGradient: outputGradient, gradients: gradients, threads: threads)
        let shape = inputs.shape
        let (nq, nk) = (shape.queryLength, shape.keyLength)
        let key = "backward \(nq)x\(nk)"
        let scratch = workspaces.take(key) { AlignedBuffer(count: 2 * nq * nk + nq, zeroed: false) }
        defer { workspaces.give(key, scratch) }
        KernelTable.defaultKernel.dispatch(
            DenseBackward(
                inputs: inputs, mask: mask, saved: saved, outputGradient: outputGradient, gradients: gradients,
                threads: threads, scratch: scratch))
    }

    /// P and dS (Nq·Nk floats each) and D (Nq).
    public func predictedBackwardExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int) -> Int {
        let (nq, nk) = (Double(shape.queryLength), Double(shape.keyLength))
        let bytes = (2 * nq * nk + nq) * 4
        return bytes < Double(Int.max) ? Int(bytes) : Int.max
    }
}

/// Dense attention's backward, with the row operations at the width of kernel `K`.
private struct DenseBackward: KernelBody {
    let inputs: AttentionInputs
    let mask: AttentionMask
    let saved: SavedForward
    let outputGradient: Tensor
    let gradients: AttentionGradients
    let threads: Int
    /// P, dS (Nq·Nk each), then D (Nq).
    let scratch: AlignedBuffer

    func run<K: TileKernel>(_: K.Type) {
        typealias Row = RowOps<K.Vector>
        let shape = inputs.shape, mask = self.mask
        let (nq, nk, d) = (shape.queryLength, shape.keyLength, shape.headDim)
        let scale = shape.scale
        BLAS.setThreads(1)
        gradients.key.floats.update(repeating: 0, count: gradients.key.count)
        gradients.value.floats.update(repeating: 0, count: gradients.value.count)
        let p = scratch.baseAddress, dS = p + nq * nk, rowDot = dS + nq * nk
        // Slabs as the forward's: query rows for P, dS and dQ, key rows for dK and dV.
        let rowsPer = max(1, min(256, (nq + threads - 1) / threads)),
            keysPer = max(1, min(256, (nk + threads - 1) / threads))
        func slab(_ i: Int, _ size: Int, _ n: Int) -> Range<Int> { i * size ..< min(n, (i + 1) * size) }
        for b in 0 ..< shape.batch {
            for h in 0 ..< shape.heads {
                let qOffset = shape.queryOffset(batch: b, head: h), kOffset = shape.keyOffset(batch: b, head: h)
                let io = UncheckedSendable(
                    (
                        q: inputs.query.floats + qOffset, k: inputs.key.floats + kOffset,
                        v: inputs.value.floats + kOffset, o: saved.output.floats + qOffset,
                        l: saved.logSumExp.floats + (b * shape.heads + h) * nq, dO: outputGradient.floats + qOffset,
                        dQ: gradients.query.floats + qOffset, dK: gradients.key.floats + kOffset,
                        dV: gradients.value.floats + kOffset, p: p, dS: dS, rowDot: rowDot
                    ))
                // P, dS and dQ by slabs of query rows.
                ParallelWork.run(units: (nq + rowsPer - 1) / rowsPer, workers: threads) { _, i in
                    let x = io.value, r = slab(i, rowsPer, nq)
                    BLAS.gemmABt(
                        m: r.count, n: nk, k: d, alpha: scale * log2e, a: x.q + r.lowerBound * d, lda: d, b: x.k,
                        ldb: d, c: x.p + r.lowerBound * nk, ldc: nk)
                    mask.applyMask(queries: r, keys: 0 ..< nk, scores: x.p + r.lowerBound * nk, rowStride: nk)
                    BLAS.gemmABt(
                        m: r.count, n: nk, k: d, alpha: 1, a: x.dO + r.lowerBound * d, lda: d, b: x.v, ldb: d,
                        c: x.dS + r.lowerBound * nk, ldc: nk)
                    for row in r {
                        x.rowDot[row] = Row.dot(x.dO + row * d, x.o + row * d, count: d)
                        Row.exp2InPlace(x.p + row * nk, count: nk, shift: log2e * x.l[row])
                        Row.softmaxGradient(
                            x.dS + row * nk, probabilities: x.p + row * nk, count: nk, rowDot: x.rowDot[row],
                            scale: scale)
                    }
                    BLAS.gemmAB(
                        m: r.count, n: d, k: nk, beta: 0, a: x.dS + r.lowerBound * nk, lda: nk, b: x.k, ldb: d,
                        c: x.dQ + r.lowerBound * d, ldc: d)
                }
                // dV += Pᵀ·dO and dK += dSᵀ·Q by slabs of key rows (+= over a group's heads).
                ParallelWork.run(units: (nk + keysPer - 1) / keysPer, workers: threads) { _, j in
                    let x = io.value, c = slab(j, keysPer, nk)
                    BLAS.gemmAtB(
                        m: c.count, n: d, k: nq, beta: 1, a: x.p + c.lowerBound, lda: nk, b: x.dO, ldb: d,
                        c: x.dV + c.lowerBound * d, ldc: d)
                    BLAS.gemmAtB(
                        m: c.count, n: d, k: nq, beta: 1, a: x.dS + c.lowerBound, lda: nk, b: x.q, ldb: d,
                        c: x.dK + c.lowerBound * d, ldc: d)
                }
            }
        }
    }
}

/// ``DenseRun`` with the element type known.
private struct DenseElements: PrecisionBody {
    let inputs: AttentionInputs
    let mask: AttentionMask
    let output: Tensor
    let threads: Int
    let scratch: AlignedBuffer
    let widened: AlignedBuffer?
    let logSumExp: Tensor?

    func run<E: StorageElement>(_: E.Type) {
        KernelTable.defaultKernel.dispatch(
            DenseRun<E>(
                inputs: inputs, mask: mask, output: output, threads: threads, scratch: scratch, widened: widened,
                logSumExp: logSumExp))
    }
}

/// Dense attention's three passes, with the row operations at the width of
/// kernel `K`.
struct DenseRun<E: StorageElement>: KernelBody {
    let inputs: AttentionInputs
    let mask: AttentionMask
    let output: Tensor
    let threads: Int
    /// Nq·Nk scores, then Nq inverse row sums.
    let scratch: AlignedBuffer
    /// Half precision: one head's Q, K and V widened, and O before it is
    /// rounded, in float32 (`2·d·(Nq + Nk)` floats); nil for float32.
    let widened: AlignedBuffer?
    /// `[B, H, Nq]` row log-sum-exps to write (the training forward), or nil.
    let logSumExp: Tensor?

    /// One head's Q, K, V and O as float32: the tensors themselves in f32;
    /// in half precision the `widened` copies, Q, K and V widened into them
    /// in slabs of 64 rows, every worker a share (O is rounded when stored).
    func float32Head(
        q: UnsafePointer<E>, k: UnsafePointer<E>, v: UnsafePointer<E>, o: UnsafeMutablePointer<E>
    ) -> (q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, o: UnsafeMutablePointer<Float>) {
        guard let w = widened?.baseAddress else { return (q.asFloat32, k.asFloat32, v.asFloat32, o.asFloat32) }
        let shape = inputs.shape
        let (nq, nk, d) = (shape.queryLength, shape.keyLength, shape.headDim)
        let wq = w, wk = w + nq * d, wv = wk + nk * d, wo = wv + nk * d
        let slab = 64, qSlabs = (nq + slab - 1) / slab, kSlabs = (nk + slab - 1) / slab
        let io = UncheckedSendable((q: q, k: k, v: v, wq: wq, wk: wk, wv: wv))
        ParallelWork.run(units: qSlabs + 2 * kSlabs, workers: threads) { _, unit in
            let p = io.value
            let (tensor, index) = unit < qSlabs ? (0, unit) : (1 + (unit - qSlabs) / kSlabs, (unit - qSlabs) % kSlabs)
            let first = index * slab, rows = min(slab, (tensor == 0 ? nq : nk) - first)
            switch tensor {
            case 0: E.widen(p.q + first * d, into: p.wq + first * d, count: rows * d)
            case 1: E.widen(p.k + first * d, into: p.wk + first * d, count: rows * d)
            default: E.widen(p.v + first * d, into: p.wv + first * d, count: rows * d)
            }
        }
        return (UnsafePointer(wq), UnsafePointer(wk), UnsafePointer(wv), wo)
    }

    func run<K: TileKernel>(_ kernel: K.Type) {
        typealias Row = RowOps<K.Vector>
        let shape = inputs.shape, mask = self.mask
        let (nq, nk, d) = (shape.queryLength, shape.keyLength, shape.headDim)
        BLAS.setThreads(1)
        let s = scratch.baseAddress
        let inverseSums = s + nq * nk
        let alpha = shape.scale * log2e
        let shared = UncheckedSendable((scores: s, inverseSums: inverseSums, lse: logSumExp?.floats))
        // Rows per unit of work: products in slabs large enough that
        // OpenBLAS's packing of K or V (once per call) stays a few percent,
        // and small enough that every worker gets one; the softmax in finer
        // slabs, to balance uneven masked rows.
        let productRows = max(1, min(256, (nq + threads - 1) / threads)), softmaxRows = 64
        func slabs(_ size: Int) -> Int { (nq + size - 1) / size }
        func rows(_ slab: Int, _ size: Int) -> Range<Int> { slab * size ..< min(nq, (slab + 1) * size) }

        for b in 0 ..< shape.batch {
            for h in 0 ..< shape.heads {
                let qOffset = shape.queryOffset(batch: b, head: h), kOffset = shape.keyOffset(batch: b, head: h)
                let q = inputs.query.elements(E.self) + qOffset, k = inputs.key.elements(E.self) + kOffset,
                    v = inputs.value.elements(E.self) + kOffset, o = output.elements(E.self) + qOffset
                // One constant, initialized once: a `let` assigned in two branches and
                // captured by the closures below was boxed, one allocation a head.
                let io = UncheckedSendable(float32Head(q: q, k: k, v: v, o: o))
                let stored = UncheckedSendable(o)
                // S = scale·log₂e · Q·Kᵀ
                ParallelWork.run(units: slabs(productRows), workers: threads) { _, slab in
                    let r = rows(slab, productRows)
                    BLAS.gemmABt(
                        m: r.count, n: nk, k: d, alpha: alpha, a: io.value.q + r.lowerBound * d, lda: d,
                        b: io.value.k, ldb: d, c: shared.value.scores + r.lowerBound * nk, ldc: nk)
                }
                // P = 2^(S − rowmax S) under the mask, and 1 / rowsum P
                ParallelWork.run(units: slabs(softmaxRows), workers: threads) { _, slab in
                    let r = rows(slab, softmaxRows)
                    let scores = shared.value.scores, inverseSums = shared.value.inverseSums
                    mask.applyMask(queries: r, keys: 0 ..< nk, scores: scores + r.lowerBound * nk, rowStride: nk)
                    for i in r {
                        let row = scores + i * nk
                        let m = Row.max(row, count: nk)
                        let sum: Float
                        if m == -.infinity {  // no attended key: the row of P is zero
                            row.update(repeating: 0, count: nk)
                            sum = 0
                        } else {
                            sum = Row.exp2InPlaceAndSum(row, count: nk, shift: m)
                        }
                        inverseSums[i] = sum > 0 ? 1 / sum : 0
                        // L = ln Σ exp(scale·q·k_j) = (m + log₂ Σ P) · ln 2, the scores being base 2.
                        if let lse = shared.value.lse {
                            lse[(b * shape.heads + h) * nq + i] = sum > 0 ? (m + log2(sum)) * Float(M_LN2) : -.infinity
                        }
                    }
                }
                // O = (P·V) / rowsum P
                ParallelWork.run(units: slabs(productRows), workers: threads) { _, slab in
                    let r = rows(slab, productRows)
                    let o = io.value.o + r.lowerBound * d
                    BLAS.gemmAB(
                        m: r.count, n: d, k: nk, beta: 0, a: shared.value.scores + r.lowerBound * nk, lda: nk,
                        b: io.value.v, ldb: d, c: o, ldc: d)
                    for i in r { Row.scale(io.value.o + i * d, count: d, by: shared.value.inverseSums[i]) }
                    if E.self != Float.self { E.narrow(o, into: stored.value + r.lowerBound * d, count: r.count * d) }
                }
            }
        }
    }
}
