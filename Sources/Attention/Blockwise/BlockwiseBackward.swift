/// FlashAttention-2's backward pass over a strategy's key visit plan: the
/// gradients of tiled, sliding-window and block-sparse attention, each
/// skipping the key ranges its forward skips.
///
/// With the forward's O and row log-sum-exp L (natural log of the scaled
/// scores), for a block of query rows Q_b (with dO_b, and
/// `D = rowsum(dO_b ∘ O_b)`, once per block) and each key range K_j, V_j
/// the plan names:
///
///     S    = scale·log₂e · Q_b·K_jᵀ          (base 2, as the forward)
///     P    = 2^(S − log₂e·L)                 (0 where the mask excludes a pair)
///     dP   = dO_b · V_jᵀ
///     dS   = scale · P ∘ (dP − D)
///     dV_j += Pᵀ · dO_b,   dK_j += dSᵀ · Q_b,   dQ_b += dS · K_j
///
/// The tiles are kept transposed, as the forward's transposed fold keeps
/// them: `Sᵀ = K_j·Q_bᵀ` and `dPᵀ = V_j·dO_bᵀ` broadcast K and V in place
/// against `Q_bᵀ` and `dO_bᵀ`, packed once per block, and the softmax's
/// gradient runs with the query rows in the vector lanes. Why: packing
/// every key range for every block (the row-wise layout) made the backward
/// 3.5× the forward; transposed it is 2.3-2.5× (docs/DECISIONS.md).
///
/// Loop order: a work unit is one (batch, key/value head); its worker takes
/// every query block of every query head that reads the head, so dK and dV
/// of the head are written by one worker only, with no partial copies and
/// no reduction. The block stacks the same query rows of the group's heads
/// (as the forward packs them), so `dSᵀ · Q_b` and `Pᵀ · dO_b` also sum the
/// group's contributions to dK and dV. dQ_b is complete when its block has
/// visited its keys. The cost: parallelism over B·Hkv units, so fewer heads
/// than workers leave workers idle (measurements: docs/DECISIONS.md).
///
/// Nothing of size Nq×Nk is allocated: per worker, two score tiles (Pᵀ and
/// dSᵀ, columns × rows), the block's `Q_bᵀ` and `dO_bᵀ`, and its Q, dO and
/// dQ rows (``BackwardWorkspace``).
///
/// - Complexity: 2.5× the forward's multiply-adds (five products of the
///   same size where the forward has two), over the same visited tiles.
func runBlockwiseBackward(
    _ inputs: AttentionInputs, mask: AttentionMask, saved: SavedForward, outputGradient: Tensor,
    gradients: AttentionGradients, threads: Int, plan: some KeyVisitPlan, kernel: KernelID,
    workspaces: WorkspacePool
) {
    kernel.dispatch(
        BlockwiseBackwardRun(
            inputs: inputs, mask: mask, saved: saved, outputGradient: outputGradient, gradients: gradients,
            threads: threads, plan: plan, workspaces: workspaces))
}

/// Why a strategy whose backward reads Q, K, V and O as float32 in place
/// (every built-in one) has no backward pass for `precision`.
func float32BackwardUnavailability(_ precision: Precision) -> String? {
    precision == .f32 ? nil : "the backward pass takes f32 inputs, not \(precision)"
}

/// A blockwise strategy's training forward: the backward's checks, then
/// the forward over `plan` (nil only for a pattern the checks refuse)
/// writing each row's log-sum-exp too.
func runBlockwiseTrainingForward(
    _ strategy: some AttentionStrategy, _ inputs: AttentionInputs, mask: AttentionMask, saved: SavedForward,
    threads: Int, plan: (some KeyVisitPlan)?, kernel: KernelID, workspaces: WorkspacePool
) throws {
    try strategy.validateBackward(
        inputs, mask: mask, saved: saved, outputGradient: nil, gradients: nil, threads: threads)
    try KernelTable.require(kernel)
    runBlockwiseAttention(
        inputs, mask: mask, output: saved.output, threads: threads, plan: plan!, kernel: kernel,
        workspaces: workspaces, logSumExp: saved.logSumExp)
}

/// A blockwise strategy's backward: the checks, then ``runBlockwiseBackward``
/// over `plan` (nil only for a pattern the checks refuse).
func runBlockwiseBackwardPass(
    _ strategy: some AttentionStrategy, _ inputs: AttentionInputs, mask: AttentionMask, saved: SavedForward,
    outputGradient: Tensor, gradients: AttentionGradients, threads: Int, plan: (some KeyVisitPlan)?,
    kernel: KernelID, workspaces: WorkspacePool
) throws {
    try strategy.validateBackward(
        inputs, mask: mask, saved: saved, outputGradient: outputGradient, gradients: gradients, threads: threads)
    try KernelTable.require(kernel)
    runBlockwiseBackward(
        inputs, mask: mask, saved: saved, outputGradient: outputGradient, gradients: gradients, threads: threads,
        plan: plan!, kernel: kernel, workspaces: workspaces)
}

/// One worker's buffers of ``runBlockwiseBackward``, sized for a plan.
///
/// The score tiles are transposed, one key per row and the block's query
/// rows in the vector lanes (`width` = the rows in whole vectors), as the
/// forward's transposed fold keeps them.
final class BackwardWorkspace: @unchecked Sendable {
    /// Query rows in whole vectors: the row stride of every transposed tile.
    let width: Int
    /// Pᵀ, then dSᵀ, of one key range (`columns × width` each).
    let probabilities: AlignedBuffer
    let scoreGradients: AlignedBuffer
    /// The block's `(scale·log₂e·Q_b)ᵀ` and `dO_bᵀ` (`d × width` each): the
    /// B operands of `Sᵀ = K_j·Q_bᵀ` and `dPᵀ = V_j·dO_bᵀ`, packed once per block.
    let queryTransposed: AlignedBuffer
    let gradientTransposed: AlignedBuffer
    /// The block's Q, dO and dQ rows (`rows × d`).
    let query: AlignedBuffer
    let outputGradient: AlignedBuffer
    let queryGradient: AlignedBuffer
    /// Per query lane: D = rowsum(dO ∘ O) and log₂e·L.
    let rowDot: AlignedBuffer
    let rowLogSum: AlignedBuffer

    init(rows: Int, columns: Int, headDim: Int, roundUp: (Int) -> Int) {
        width = roundUp(rows)
        probabilities = AlignedBuffer(count: columns * width, zeroed: false)
        scoreGradients = AlignedBuffer(count: columns * width, zeroed: false)
        queryTransposed = AlignedBuffer(count: headDim * width)
        gradientTransposed = AlignedBuffer(count: headDim * width)
        query = AlignedBuffer(count: rows * headDim, zeroed: false)
        outputGradient = AlignedBuffer(count: rows * headDim, zeroed: false)
        queryGradient = AlignedBuffer(count: rows * headDim, zeroed: false)
        rowDot = AlignedBuffer(count: width)
        rowLogSum = AlignedBuffer(count: width)
    }

    /// Bytes of one workspace, for memory predictions.
    static func bytes(rows: Int, columns: Int, headDim: Int, roundUp: (Int) -> Int) -> Int {
        let width = roundUp(rows)
        return (2 * columns * width + 2 * headDim * width + 3 * rows * headDim + 2 * width)
            * MemoryLayout<Float>.stride
    }
}

/// The predicted extra memory of ``runBlockwiseBackward``: one
/// ``BackwardWorkspace`` per worker plus the 192 KiB a worker thread touches
/// besides (its stack and allocator state, as the forward's model counts).
/// The gradients themselves are the caller's.
func blockwiseBackwardExtraBytes(shape: AttentionShape, plan: some KeyVisitPlan, threads: Int, kernel: KernelID)
    -> Int
{
    let rows = shape.groupSize * plan.maxRows
    let workers = max(1, min(threads, shape.batch * shape.kvHeads))
    let perWorker = kernel.dispatch(BackwardBytes(rows: rows, columns: plan.maxColumns, headDim: shape.headDim))
    return workers * (perWorker + (192 << 10))
}

private struct BackwardBytes: KernelBody {
    let rows: Int, columns: Int, headDim: Int
    func run<K: TileKernel>(_: K.Type) -> Int {
        BackwardWorkspace.bytes(rows: rows, columns: columns, headDim: headDim, roundUp: K.roundUp)
    }
}

private struct BlockwiseBackwardRun<Plan: KeyVisitPlan>: KernelBody {
    let inputs: AttentionInputs
    let mask: AttentionMask
    let saved: SavedForward
    let outputGradient: Tensor
    let gradients: AttentionGradients
    let threads: Int
    let plan: Plan
    let workspaces: WorkspacePool

    func run<K: TileKernel>(_: K.Type) {
        let shape = inputs.shape, plan = self.plan, mask = self.mask
        let d = shape.headDim, nq = shape.queryLength, groups = shape.groupSize
        let units = shape.batch * shape.kvHeads
        let workers = max(1, min(threads, units))
        let maxRows = groups * plan.maxRows
        BLAS.setThreads(1)
        let key = "backward \(K.id) \(maxRows)x\(plan.maxColumns)x\(d)"
        let spaces = (0 ..< workers).map { _ in
            workspaces.take(key) {
                BackwardWorkspace(rows: maxRows, columns: plan.maxColumns, headDim: d, roundUp: K.roundUp)
            }
        }
        defer { workspaces.give(key, spaces) }
        gradients.key.floats.update(repeating: 0, count: gradients.key.count)
        gradients.value.floats.update(repeating: 0, count: gradients.value.count)
        let io = UncheckedSendable(
            (
                q: inputs.query.floats, k: inputs.key.floats, v: inputs.value.floats, o: saved.output.floats,
                l: saved.logSumExp.floats, dO: outputGradient.floats, dQ: gradients.query.floats,
                dK: gradients.key.floats, dV: gradients.value.floats, spaces: spaces
            ))
        let scale = shape.scale
        ParallelWork.run(units: units, workers: workers) { worker, unit in
            let (b, kvHead) = unit.quotientAndRemainder(dividingBy: shape.kvHeads)
            let firstHead = kvHead * groups
            let kOffset = shape.keyOffset(batch: b, head: firstHead)
            let k = io.value.k + kOffset, v = io.value.v + kOffset
            let dK = io.value.dK + kOffset, dV = io.value.dV + kOffset
            let w = io.value.spaces[worker]
            let width = w.width
            let pT = w.probabilities.baseAddress, dsT = w.scoreGradients.baseAddress
            let qT = w.queryTransposed.baseAddress, gT = w.gradientTransposed.baseAddress
            let qb = w.query.baseAddress, gb = w.outputGradient.baseAddress, dq = w.queryGradient.baseAddress
            for queries in plan.queryBlocks {
                let perGroup = queries.count, rows = groups * perGroup
                // The block: the group's heads' rows stacked, and per row D and log₂e·L
                // (lanes past `rows` keep what they held: read by nothing that is stored).
                for g in 0 ..< groups {
                    let head = firstHead + g
                    let at = shape.queryOffset(batch: b, head: head) + queries.lowerBound * d
                    let lse = io.value.l + (b * shape.heads + head) * nq + queries.lowerBound
                    for i in 0 ..< perGroup {
                        let r = g * perGroup + i
                        (qb + r * d).update(from: io.value.q + at + i * d, count: d)
                        (gb + r * d).update(from: io.value.dO + at + i * d, count: d)
                        w.rowDot[r] = RowOps<K.Vector>.dot(io.value.dO + at + i * d, io.value.o + at + i * d, count: d)
                        // A row with no key (L = −∞) shifts to +∞: its P is 2^−∞ → 0.
                        w.rowLogSum[r] = lse[i] > -.infinity ? log2e * lse[i] : .infinity
                    }
                }
                transpose(qb, rows: rows, d: d, scale: scale * log2e, into: qT, width: width)
                transpose(gb, rows: rows, d: d, scale: 1, into: gT, width: width)
                dq.update(repeating: 0, count: rows * d)
                plan.visitKeys(of: queries) { keys, partial in
                    let columns = keys.count
                    precondition(columns <= plan.maxColumns)
                    let kj = k + keys.lowerBound * d, vj = v + keys.lowerBound * d
                    // Sᵀ = K_j·(scale·log₂e·Q_b)ᵀ and dPᵀ = V_j·dO_bᵀ, one key a row.
                    K.multiply(
                        a: kj, aRowStride: d, aColumnStride: 1, b: qT, ldb: width, c: pT, ldc: width,
                        rows: columns, n: width, k: d, accumulate: false)
                    K.multiply(
                        a: vj, aRowStride: d, aColumnStride: 1, b: gT, ldb: width, c: dsT, ldc: width,
                        rows: columns, n: width, k: d, accumulate: false)
                    if partial {
                        for g in 0 ..< groups {
                            mask.applyMask(
                                queries: queries, keys: keys, scores: pT + g * perGroup, rowStride: 1,
                                columnStride: width)
                        }
                    }
                    // Pᵀ = 2^(Sᵀ − log₂e·L) and dSᵀ = scale · Pᵀ ∘ (dPᵀ − D), lane-wise.
                    backwardSoftmax(
                        K.Vector.self, probabilities: pT, gradients: dsT, keys: columns, width: width,
                        logSum: w.rowLogSum.baseAddress, rowDot: w.rowDot.baseAddress, scale: scale)
                    // dV_j += Pᵀ·dO_b, dK_j += dSᵀ·Q_b, dQ_b += (dSᵀ)ᵀ·K_j.
                    K.multiply(
                        a: pT, aRowStride: width, aColumnStride: 1, b: gb, ldb: d, c: dV + keys.lowerBound * d,
                        ldc: d, rows: columns, n: d, k: rows, accumulate: true)
                    K.multiply(
                        a: dsT, aRowStride: width, aColumnStride: 1, b: qb, ldb: d, c: dK + keys.lowerBound * d,
                        ldc: d, rows: columns, n: d, k: rows, accumulate: true)
                    K.multiply(
                        a: dsT, aRowStride: 1, aColumnStride: width, b: kj, ldb: d, c: dq, ldc: d,
                        rows: rows, n: d, k: columns, accumulate: true)
                }
                for g in 0 ..< groups {
                    let at = shape.queryOffset(batch: b, head: firstHead + g) + queries.lowerBound * d
                    (io.value.dQ + at).update(from: dq + g * perGroup * d, count: perGroup * d)
                }
            }
        }
    }
}

/// `out[c · width + r] = scale · rows[r · d + c]`: `rows × d` transposed
/// into columns of a `d × width` tile.
@inline(__always)
private func transpose(
    _ rows: UnsafePointer<Float>, rows count: Int, d: Int, scale: Float, into out: UnsafeMutablePointer<Float>,
    width: Int
) {
    for r in 0 ..< count {
        for c in 0 ..< d { out[c &* width &+ r] = scale * rows[r &* d &+ c] }
    }
}

/// The softmax's part of the backward on transposed tiles (`keys` rows of
/// `width` query lanes): `Pᵀ = 2^(Sᵀ − log₂e·L)` in place of `Sᵀ`, and
/// `dSᵀ = scale · Pᵀ ∘ (dPᵀ − D)` in place of `dPᵀ`, the per-row `log₂e·L`
/// and `D` in the lanes.
@inline(__always)
private func backwardSoftmax<V: FloatVector>(
    _: V.Type, probabilities p: UnsafeMutablePointer<Float>, gradients g: UnsafeMutablePointer<Float>, keys: Int,
    width: Int, logSum: UnsafePointer<Float>, rowDot: UnsafePointer<Float>, scale: Float
) {
    let s = V(repeating: scale)
    var lane = 0
    while lane < width {
        let shift = V.load(logSum + lane), dot = V.load(rowDot + lane)
        for j in 0 ..< keys {
            let at = j &* width &+ lane
            let pj = exp2(V.load(p + at) - shift)
            pj.store(to: p + at)
            (s * pj * (V.load(g + at) - dot)).store(to: g + at)
        }
        lane += V.scalarCount
    }
}
