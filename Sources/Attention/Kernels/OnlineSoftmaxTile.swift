/// The one step that tiled, sliding-window and block-sparse attention share:
/// a block of query rows against a stream of key ranges, with an online
/// softmax (Milakov and Gimelshein 2018; FlashAttention-2's forward pass).
///
/// For a query block Q_b (`rows × d`) it keeps, per row, the running maximum
/// `m`, the running sum `l` and an unnormalized output `acc`. Each key range
/// (`columns` keys of K and V) does
///
///     S    = scale·log₂e · Q_b·Kᵀ            (scores, base 2)
///     S    = −∞ where the mask excludes a pair   (partial tiles only)
///     m'   = max(m, rowmax S)
///     P    = 2^(S − m'),  α = 2^(m − m')
///     l    = α·l + rowsum P
///     acc  = α·acc + P·V
///
/// and ``finish(into:)`` writes `acc / l` (zeros where `l = 0`: a row that
/// attended nothing). Nothing of size Nq×Nk ever exists: the workspace is
/// one `rows × columns` score tile, one `rows × d` accumulator and two
/// row vectors.
///
/// One worker uses an instance at a time (``WorkspacePool`` hands it out
/// exclusively); not thread-safe.
final class OnlineSoftmaxTile: @unchecked Sendable {
    let maxRows: Int
    let maxColumns: Int
    let headDim: Int
    /// Row stride of the score tile: a multiple of 16 floats (64 bytes).
    let scoreStride: Int

    private let scores: AlignedBuffer
    /// A key range transposed and pre-scaled, for ``MicroGEMM`` (empty when
    /// the head dim is not a multiple of 16 and OpenBLAS does the products).
    private let packedKeys: AlignedBuffer
    private let acc: AlignedBuffer
    private let rowMax: AlignedBuffer
    private let rowSum: AlignedBuffer

    private var rows = 0
    private var query: UnsafePointer<Float>?
    private var alpha: Float = 1

    /// Q_bᵀ scaled (d × rows rounded up to 16) and the transposed scores
    /// (keys × rows rounded up to 16) of ``foldQueuedTransposed()``; made on
    /// first use, so strategies that never queue ranges never touch them.
    private var queryTransposed: AlignedBuffer?
    private var scoresTransposed: AlignedBuffer?
    private var queryTransposedReady = false
    /// Key ranges queued for ``foldQueuedTransposed()``.
    private var transposedKeys: [UnsafePointer<Float>] = []
    private var transposedValues: [UnsafePointer<Float>] = []
    private var transposedCounts: [Int] = []
    private(set) var transposedColumns = 0


    init(maxRows: Int, maxColumns: Int, headDim: Int) {
        self.maxRows = maxRows
        self.maxColumns = maxColumns
        self.headDim = headDim
        scoreStride = Self.roundUp16(maxColumns)
        scores = AlignedBuffer(count: maxRows * scoreStride, zeroed: false)   // written by each product before use
        packedKeys = AlignedBuffer(count: Self.usesMicroGEMM(headDim) ? headDim * scoreStride : 0, zeroed: false)
        acc = AlignedBuffer(count: maxRows * headDim)
        // Whole vectors of rows, for the transposed fold's lane-wise updates.
        rowMax = AlignedBuffer(count: Self.roundUp16(maxRows))
        rowSum = AlignedBuffer(count: Self.roundUp16(maxRows))
    }

    /// Bytes of one worker's workspace, for memory predictions.
    static func workspaceBytes(maxRows: Int, maxColumns: Int, headDim: Int) -> Int {
        let packed = usesMicroGEMM(headDim) ? headDim * roundUp16(maxColumns) : 0
        return (maxRows * roundUp16(maxColumns) + packed + maxRows * headDim + 2 * maxRows) * MemoryLayout<Float>.stride
    }

    /// The SIMD products need rows of whole vectors.
    static func usesMicroGEMM(_ headDim: Int) -> Bool { headDim % 16 == 0 }

    private static func roundUp16(_ n: Int) -> Int { (n + 15) / 16 * 16 }

    /// Starts a query block: `rows` rows of `headDim` floats at `query`.
    func begin(query: UnsafePointer<Float>, rows: Int, scale: Float) {
        precondition(rows >= 1 && rows <= maxRows)
        self.query = query
        self.rows = rows
        self.alpha = scale * log2e
        rowMax.baseAddress.update(repeating: -.infinity, count: rows)
        rowSum.baseAddress.update(repeating: 0, count: rows)
        acc.baseAddress.update(repeating: 0, count: rows * headDim)
        queryTransposedReady = false
    }

    // MARK: Transposed fold

    /// Queues fully attended keys and values for ``foldQueuedTransposed()``,
    /// which reads both in place: nothing is packed per range.
    ///
    /// Why: with short query blocks (block-sparse's 64 rows) packing each key
    /// range transposed took a fifth of the time. Computing the transposed
    /// scores `Sᵀ = K · (scale·Q_b)ᵀ` instead needs only Q_b packed, once per
    /// block, and the softmax then runs across rows of Sᵀ with the query rows
    /// in the vector lanes: the running max and sum are lane-wise, with no
    /// horizontal reductions at all.
    func queueTransposed(key: UnsafePointer<Float>, value: UnsafePointer<Float>, columns: Int) {
        precondition(canQueue && columns >= 1 && transposedColumns + columns <= maxColumns)
        if transposedKeys.capacity < maxColumns {
            transposedKeys.reserveCapacity(maxColumns)
            transposedValues.reserveCapacity(maxColumns)
            transposedCounts.reserveCapacity(maxColumns)
        }
        transposedKeys.append(key)
        transposedValues.append(value)
        transposedCounts.append(columns)
        transposedColumns += columns
    }

    /// Folds the ranges queued by ``queueTransposed(key:value:columns:)``:
    ///
    ///     Sᵀ = K_q · (scale·log₂e · Q_b)ᵀ          per range, rows = keys
    ///     m' = max(m, column max of Sᵀ)            lane-wise over query rows
    ///     Pᵀ = 2^(Sᵀ − m'),  α = 2^(m − m')
    ///     l  = α·l + column sums of Pᵀ,  acc = α·acc + (Pᵀ)ᵀ·V
    func foldQueuedTransposed() {
        guard transposedColumns > 0 else { return }
        let d = headDim, width = Self.roundUp16(rows)
        if queryTransposed == nil {
            queryTransposed = AlignedBuffer(count: d * Self.roundUp16(maxRows))
            scoresTransposed = AlignedBuffer(count: maxColumns * Self.roundUp16(maxRows), zeroed: false)
        }
        let qT = queryTransposed!.baseAddress, sT = scoresTransposed!.baseAddress
        if !queryTransposedReady {
            // Lanes past `rows` are zero, so their scores are finite (and unused).
            MicroGEMM.packTransposed(query!, columns: rows, k: d, scale: alpha, into: qT, ldPacked: width)
            for c in 0 ..< d { (qT + c * width + rows).update(repeating: 0, count: width - rows) }
            queryTransposedReady = true
        }
        var offset = 0
        for (key, count) in zip(transposedKeys, transposedCounts) {
            MicroGEMM.multiply(a: key, lda: d, b: qT, ldb: width, c: sT + offset * width, ldc: width,
                               rows: count, n: width, k: d, accumulate: false)
            offset += count
        }
        let total = transposedColumns
        var lane = 0
        while lane < width {
            let mOld = UnsafeRawPointer(rowMax.baseAddress + lane).loadUnaligned(as: SIMD16<Float>.self)
            var mNew = mOld
            for j in 0 ..< total {
                let x = UnsafeRawPointer(sT + j * width + lane).loadUnaligned(as: SIMD16<Float>.self)
                mNew.replace(with: x, where: x .> mNew)
            }
            var sum = SIMD16<Float>()
            for j in 0 ..< total {
                let cell = UnsafeMutableRawPointer(sT + j * width + lane)
                let p = exp2(cell.loadUnaligned(as: SIMD16<Float>.self) - mNew)
                cell.storeBytes(of: p, as: SIMD16<Float>.self)
                sum += p
            }
            let rescale = exp2(mOld - mNew)            // 0 where nothing was attended before (m = −∞)
            let lOld = UnsafeRawPointer(rowSum.baseAddress + lane).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(rowSum.baseAddress + lane).storeBytes(of: lOld * rescale + sum, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(rowMax.baseAddress + lane).storeBytes(of: mNew, as: SIMD16<Float>.self)
            for r in lane ..< min(lane + 16, rows) where rescale[r - lane] != 1 {
                RowOps.scale(acc.baseAddress + r * d, count: d, by: rescale[r - lane])
            }
            lane += 16
        }
        offset = 0
        for (value, count) in zip(transposedValues, transposedCounts) {
            MicroGEMM.multiply(aTransposed: sT + offset * width, ldaT: width, b: value, ldb: d, c: acc.baseAddress, ldc: d,
                               rows: rows, n: d, k: count, accumulate: true)
            offset += count
        }
        transposedKeys.removeAll(keepingCapacity: true)
        transposedValues.removeAll(keepingCapacity: true)
        transposedCounts.removeAll(keepingCapacity: true)
        transposedColumns = 0
    }

    /// Whether key ranges can be queued with ``queueTransposed(key:value:columns:)``
    /// and folded in as one product (the SIMD path; with OpenBLAS each range
    /// is folded on its own).
    var canQueue: Bool { Self.usesMicroGEMM(headDim) }

    /// Folds `columns` keys and values (rows of `headDim` floats at `key`
    /// and `value`) into the block. With `mask`, pairs it excludes are
    /// dropped (`queries` and `keys` give the tile's absolute indices);
    /// without it every pair counts.
    func accumulate(key: UnsafePointer<Float>, value: UnsafePointer<Float>, columns: Int,
                    mask: AttentionMask? = nil, queries: Range<Int> = 0 ..< 0, keys: Range<Int> = 0 ..< 0) {
        precondition(columns >= 1 && columns <= maxColumns)
        let d = headDim
        let s = scores.baseAddress
        let micro = Self.usesMicroGEMM(d)
        if micro {
            MicroGEMM.packTransposed(key, columns: columns, k: d, scale: alpha, into: packedKeys.baseAddress, ldPacked: scoreStride)
            // Columns past `columns` hold stale values; the scores they give are never read.
            MicroGEMM.multiply(a: query!, lda: d, b: packedKeys.baseAddress, ldb: scoreStride, c: s, ldc: scoreStride,
                               rows: rows, n: Self.roundUp16(columns), k: d, accumulate: false)
        } else {
            BLAS.gemmABt(m: rows, n: columns, k: d, alpha: alpha,
                         a: query!, lda: d, b: key, ldb: d, c: s, ldc: scoreStride)
        }
        if let mask { mask.applyMask(queries: queries, keys: keys, scores: s, rowStride: scoreStride) }

        for r in 0 ..< rows {
            let row = s + r * scoreStride
            let mOld = rowMax[r]
            let mNew = Swift.max(mOld, RowOps.max(row, count: columns))
            if mNew == -.infinity {
                // Nothing attended in this row yet: contribute zeros, keep the state.
                row.update(repeating: 0, count: columns)
                continue
            }
            let rescale = mOld == -.infinity ? 0 : Float(exp2(SIMD16(repeating: mOld - mNew))[0])
            let sum = RowOps.exp2InPlaceAndSum(row, count: columns, shift: mNew)
            rowSum[r] = rowSum[r] * rescale + sum
            rowMax[r] = mNew
            if rescale != 1 { RowOps.scale(acc.baseAddress + r * d, count: d, by: rescale) }
        }
        if micro {
            MicroGEMM.multiply(a: s, lda: scoreStride, b: value, ldb: d, c: acc.baseAddress, ldc: d,
                               rows: rows, n: d, k: columns, accumulate: true)
        } else {
            BLAS.gemmAB(m: rows, n: d, k: columns, beta: 1,
                        a: s, lda: scoreStride, b: value, ldb: d, c: acc.baseAddress, ldc: d)
        }
    }

    /// Writes the normalized block, `acc / l` row by row, to `output`
    /// (`rows × headDim`); rows that attended nothing get zeros.
    func finish(into output: UnsafeMutablePointer<Float>) {
        let d = headDim
        for r in 0 ..< rows {
            let l = rowSum[r]
            let inv: Float = l > 0 ? 1 / l : 0
            let src = acc.baseAddress + r * d
            let dst = output + r * d
            for c in 0 ..< d { dst[c] = src[c] * inv }
        }
    }
}
