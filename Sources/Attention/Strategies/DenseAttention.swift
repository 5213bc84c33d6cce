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
/// Threads: the (batch, head) pairs are spread over the workers with OpenBLAS
/// single-threaded inside each; when there are fewer pairs than threads, the
/// spare threads go to OpenBLAS. Measured at B=1, H=8, N=2048, d=64, 2 threads:
/// workers over heads ran faster than one head at a time with 2 BLAS threads
/// (see the foundation issue's note for the figures).
///
/// - Complexity: O(B·H·Nq·Nk·d) time; one Nq×Nk float32 score matrix per
///   worker.
public struct DenseAttention: AttentionStrategy {
    public init() {}

    public var name: String { "dense" }
    public var summary: String { "materializes the Nq×Nk scores per head with sgemm, masks, softmax, sgemm" }
    public var supportedKinds: Set<MaskPattern.Kind> { Set(MaskPattern.Kind.allCases) }

    func workers(_ shape: AttentionShape, threads: Int) -> Int { max(1, min(threads, shape.batch * shape.heads)) }

    public func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int) -> Int {
        let perWorker = shape.queryLength * shape.keyLength + shape.queryLength   // scores + row sums
        return workers(shape, threads: threads) * perWorker * MemoryLayout<Float>.stride
    }

    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: AlignedBuffer, threads: Int) throws {
        try validate(inputs, mask: mask, output: output, threads: threads)
        let shape = inputs.shape
        let (nq, nk, d) = (shape.queryLength, shape.keyLength, shape.headDim)
        let workerCount = workers(shape, threads: threads)
        BLAS.setThreads(max(1, threads / workerCount))
        let scratch = (0 ..< workerCount).map { _ in AlignedBuffer(count: nq * nk + nq) }
        let io = UncheckedSendable((q: inputs.query.baseAddress, k: inputs.key.baseAddress,
                                    v: inputs.value.baseAddress, o: output.baseAddress))
        let alpha = shape.scale * log2e

        ParallelWork.run(units: shape.batch * shape.heads, workers: workerCount) { worker, unit in
            let (b, h) = unit.quotientAndRemainder(dividingBy: shape.heads)
            let q = io.value.q + shape.queryOffset(batch: b, head: h)
            let k = io.value.k + shape.keyOffset(batch: b, head: h)
            let v = io.value.v + shape.keyOffset(batch: b, head: h)
            let o = io.value.o + shape.queryOffset(batch: b, head: h)
            let s = scratch[worker].baseAddress
            let inverseSums = s + nq * nk

            BLAS.gemmABt(m: nq, n: nk, k: d, alpha: alpha, a: q, lda: d, b: k, ldb: d, c: s, ldc: nk)
            mask.applyMask(queries: 0 ..< nq, keys: 0 ..< nk, scores: s, rowStride: nk)
            for i in 0 ..< nq {
                let row = s + i * nk
                let m = RowOps.max(row, count: nk)
                if m == -.infinity {            // no attended key: the row of P is zero
                    row.update(repeating: 0, count: nk)
                    inverseSums[i] = 0
                } else {
                    inverseSums[i] = 1 / RowOps.exp2InPlaceAndSum(row, count: nk, shift: m)
                }
            }
            BLAS.gemmAB(m: nq, n: d, k: nk, beta: 0, a: s, lda: nk, b: v, ldb: d, c: o, ldc: d)
            for i in 0 ..< nq { RowOps.scale(o + i * d, count: d, by: inverseSums[i]) }
        }
    }
}
