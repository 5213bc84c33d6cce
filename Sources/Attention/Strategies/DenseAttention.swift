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
/// Threads: one (batch, head) at a time, with OpenBLAS running the two
/// products on all `threads` and the rows' softmax spread over the same
/// number of workers. Measured at B=1, H=8, d=64, 2 threads against
/// spreading the heads over single-threaded workers: the same speed
/// (N=2048: 54 vs 56 ms; N=4096: 250 vs 251 ms) with one score matrix
/// instead of one per worker, so dense reaches twice the length before
/// memory runs out.
///
/// - Complexity: O(B·H·Nq·Nk·d) time; one Nq×Nk float32 score matrix.
public struct DenseAttention: AttentionStrategy {
    /// The score matrix kept between calls (see ``WorkspacePool``).
    let workspaces = WorkspacePool()

    public init() {}

    public var name: String { "dense" }
    public var summary: String { "materializes the Nq×Nk scores per head with sgemm, masks, softmax, sgemm" }
    public var supportedKinds: Set<MaskPattern.Kind> { Set(MaskPattern.Kind.allCases) }

    public func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int) -> Int {
        // scores + row sums, in Double: Nq·Nk·4 can exceed Int for shapes that are only ever predicted
        let bytes = (Double(shape.queryLength) * Double(shape.keyLength) + Double(shape.queryLength)) * 4
        return bytes < Double(Int.max) ? Int(bytes) : Int.max
    }

    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: AlignedBuffer, threads: Int) throws {
        try validate(inputs, mask: mask, output: output, threads: threads)
        let shape = inputs.shape
        let (nq, nk, d) = (shape.queryLength, shape.keyLength, shape.headDim)
        BLAS.setThreads(threads)
        let scratchKey = "scores \(nq)x\(nk)"
        let scratch = workspaces.take(scratchKey) { AlignedBuffer(count: nq * nk + nq, zeroed: false) }  // written before read
        defer { workspaces.give(scratchKey, [scratch]) }
        let s = scratch.baseAddress
        let inverseSums = s + nq * nk
        let alpha = shape.scale * log2e
        let rowChunk = 64
        let shared = UncheckedSendable((scores: s, inverseSums: inverseSums))

        for b in 0 ..< shape.batch {
            for h in 0 ..< shape.heads {
                let q = inputs.query.baseAddress + shape.queryOffset(batch: b, head: h)
                let k = inputs.key.baseAddress + shape.keyOffset(batch: b, head: h)
                let v = inputs.value.baseAddress + shape.keyOffset(batch: b, head: h)
                let o = output.baseAddress + shape.queryOffset(batch: b, head: h)

                BLAS.gemmABt(m: nq, n: nk, k: d, alpha: alpha, a: q, lda: d, b: k, ldb: d, c: s, ldc: nk)
                ParallelWork.run(units: (nq + rowChunk - 1) / rowChunk, workers: threads) { _, chunk in
                    let rows = chunk * rowChunk ..< min(nq, (chunk + 1) * rowChunk)
                    let scores = shared.value.scores, inverseSums = shared.value.inverseSums
                    mask.applyMask(queries: rows, keys: 0 ..< nk, scores: scores + rows.lowerBound * nk, rowStride: nk)
                    for i in rows {
                        let row = scores + i * nk
                        let m = RowOps.max(row, count: nk)
                        if m == -.infinity {        // no attended key: the row of P is zero
                            row.update(repeating: 0, count: nk)
                            inverseSums[i] = 0
                        } else {
                            inverseSums[i] = 1 / RowOps.exp2InPlaceAndSum(row, count: nk, shift: m)
                        }
                    }
                }
                BLAS.gemmAB(m: nq, n: d, k: nk, beta: 0, a: s, lda: nk, b: v, ldb: d, c: o, ldc: d)
                for i in 0 ..< nq { RowOps.scale(o + i * d, count: d, by: inverseSums[i]) }
            }
        }
    }
}
