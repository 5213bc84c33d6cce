import Foundation

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
/// The products are kernel `K`'s, and the softmax works at its vector width.
///
/// Grouped heads: the block may hold the same query rows of `groups` query
/// heads that share one key/value head (grouped-query packing), stacked
/// group after group. Every row then reads each key and value once for the
/// whole group, and the mask, which depends only on the query index, is
/// applied to each group's rows alike.
///
/// One worker uses an instance at a time (``WorkspacePool`` hands it out
/// exclusively); not thread-safe.
final class OnlineSoftmaxTile<K: TileKernel>: @unchecked Sendable {
    typealias V = K.Vector
    let maxRows: Int
    let maxColumns: Int
    let headDim: Int
    /// Row stride of the score tile: whole vectors.
    let scoreStride: Int

    private let scores: AlignedBuffer
    /// A key range transposed and pre-scaled for the kernel (empty when the
    /// kernel reads keys as they are).
    private let packedKeys: AlignedBuffer
    private let acc: AlignedBuffer
    private let rowMax: AlignedBuffer
    private let rowSum: AlignedBuffer
    /// The row-wise fold's new maxima and sums, per row, before they go
    /// through the same lane-wise update as the transposed fold's.
    private let newRowMax: AlignedBuffer
    private let newRowSum: AlignedBuffer

    private var rows = 0
    /// Query heads packed in the block, each with `rows / groups` rows.
    private var groups = 1
    private var query: UnsafePointer<Float>?
    /// The packed block's query rows, when the groups' rows are not already
    /// contiguous in Q (made on first use).
    private var packedQuery: AlignedBuffer?
    private var alpha: Float = 1

    /// Q_bᵀ scaled (d × rows rounded up to whole vectors) and the transposed
    /// scores (keys × the same) of ``foldQueuedTransposed(values:)``; made on first
    /// use, so strategies that never queue ranges never touch them.
    private var queryTransposed: AlignedBuffer?
    private var scoresTransposed: AlignedBuffer?
    private var queryTransposedReady = false
    /// A key range queued for ``foldQueuedTransposed(values:)``.
    private struct QueuedRange {
        let key: UnsafePointer<Float>
        /// The range's values, stored as the run's element type (the fold's `E`).
        let value: UnsafeRawPointer
        /// The keys' absolute indices.
        let keys: Range<Int>
        /// Whether the mask excludes some of its pairs.
        let partial: Bool
    }
    private var queued: [QueuedRange] = []
    private(set) var transposedColumns = 0
    /// The block's query rows (absolute) and the mask, for partial ranges.
    private var queries: Range<Int> = 0 ..< 0
    private var mask: AttentionMask?

    init(maxRows: Int, maxColumns: Int, headDim: Int) {
        self.maxRows = maxRows
        self.maxColumns = maxColumns
        self.headDim = headDim
        scoreStride = K.roundUp(maxColumns)
        scores = AlignedBuffer(count: maxRows * scoreStride, zeroed: false)  // written by each product before use
        packedKeys = AlignedBuffer(count: K.packsKeys ? headDim * scoreStride : 0, zeroed: false)
        acc = AlignedBuffer(count: maxRows * headDim)
        // Whole vectors of rows, for the transposed fold's lane-wise updates.
        rowMax = AlignedBuffer(count: K.roundUp(maxRows))
        rowSum = AlignedBuffer(count: K.roundUp(maxRows))
        newRowMax = AlignedBuffer(count: K.roundUp(maxRows))
        newRowSum = AlignedBuffer(count: K.roundUp(maxRows))
    }

    /// Bytes of one worker's workspace, for memory predictions (without the
    /// transposed fold's, see ``transposedBytes(maxRows:maxColumns:headDim:)``).
    static func workspaceBytes(maxRows: Int, maxColumns: Int, headDim: Int) -> Int {
        let packed = K.packsKeys ? headDim * K.roundUp(maxColumns) : 0
        return (maxRows * K.roundUp(maxColumns) + packed + maxRows * headDim + 4 * K.roundUp(maxRows))
            * MemoryLayout<Float>.stride
    }

    /// Bytes of the packed keys of the row-wise fold, part of
    /// ``workspaceBytes(maxRows:maxColumns:headDim:)``: a block folded only
    /// transposed allocates them but never touches them, so they are not
    /// resident.
    static func packedKeyBytes(maxColumns: Int, headDim: Int) -> Int {
        (K.packsKeys ? headDim * K.roundUp(maxColumns) : 0) * MemoryLayout<Float>.stride
    }

    /// Bytes the transposed fold adds when it is used.
    static func transposedBytes(maxRows: Int, maxColumns: Int, headDim: Int) -> Int {
        (headDim + maxColumns) * K.roundUp(maxRows) * MemoryLayout<Float>.stride
    }

    /// Starts a query block: `rows` rows of `headDim` elements at `query`, the
    /// query rows `queries` of a problem under `mask` (which partial key
    /// ranges need). With `groups` > 1 the block packs the same `queries` of
    /// `groups` query heads: group `g`'s rows start at `query + g·groupStride`
    /// (copied together when they are not contiguous already), and `rows` is
    /// `groups · queries.count`. Half-precision rows are widened into the
    /// packed copy: the products read float32.
    func begin<E: StorageElement>(
        query: UnsafePointer<E>, rows: Int, scale: Float, queries: Range<Int>, mask: AttentionMask,
        groups: Int = 1, groupStride: Int = 0
    ) {
        precondition(rows >= 1 && rows <= maxRows && groups >= 1 && queries.count * groups == rows)
        let d = headDim, perGroup = queries.count
        if E.self == Float.self, groups == 1 || groupStride == perGroup * d {
            self.query = query.asFloat32
        } else {
            if packedQuery == nil { packedQuery = AlignedBuffer(count: maxRows * d, zeroed: false) }
            let packed = packedQuery!.baseAddress
            for g in 0 ..< groups {
                E.widen(query + g * groupStride, into: packed + g * perGroup * d, count: perGroup * d)
            }
            self.query = UnsafePointer(packed)
        }
        self.rows = rows
        self.groups = groups
        self.queries = queries
        self.mask = mask
        self.alpha = scale * log2e
        // Whole vectors: the transposed fold reads the lanes past `rows` too.
        rowMax.baseAddress.update(repeating: -.infinity, count: K.roundUp(rows))
        rowSum.baseAddress.update(repeating: 0, count: K.roundUp(rows))
        acc.baseAddress.update(repeating: 0, count: rows * headDim)
        queryTransposedReady = false
    }

    /// Applies the mask to a score tile of this block against `keys`: to each
    /// packed group's rows alike (`rowStride` apart; `columnStride` between keys).
    private func applyMask(
        _ mask: AttentionMask, keys: Range<Int>, scores: UnsafeMutablePointer<Float>, rowStride: Int,
        columnStride: Int
    ) {
        let perGroup = queries.count
        for g in 0 ..< groups {
            mask.applyMask(
                queries: queries, keys: keys, scores: scores + g * perGroup * rowStride, rowStride: rowStride,
                columnStride: columnStride)
        }
    }

    // MARK: Transposed fold

    /// Queues keys and values for ``foldQueuedTransposed(values:)``, which reads
    /// both in place: nothing is packed per range. `keys` are the range's
    /// absolute indices; when `partial`, the mask is applied to its scores.
    ///
    /// Why: packing each key range transposed for every query block took a
    /// fifth of the time with short query blocks. Computing the transposed
    /// scores `Sᵀ = K · (scale·Q_b)ᵀ` instead needs only Q_b packed, once per
    /// block, and the softmax then runs across rows of Sᵀ with the query rows
    /// in the vector lanes: the running max and sum are lane-wise, with no
    /// horizontal reductions at all.
    ///
    /// The keys are float32 (their elements are broadcast one at a time);
    /// the values may be stored as `E`, widened as `P · V` loads them, and
    /// every range queued before a fold has the same `E`.
    func queueTransposed<E: StorageElement>(
        key: UnsafePointer<Float>, value: UnsafePointer<E>, keys: Range<Int>, partial: Bool
    ) {
        precondition(canQueue && !keys.isEmpty && transposedColumns + keys.count <= maxColumns)
        if queued.capacity < maxColumns { queued.reserveCapacity(maxColumns) }
        queued.append(QueuedRange(key: key, value: UnsafeRawPointer(value), keys: keys, partial: partial))
        transposedColumns += keys.count
    }

    /// Folds the ranges queued by ``queueTransposed(key:value:keys:partial:)``:
    ///
    ///     Sᵀ = K_q · (scale·log₂e · Q_b)ᵀ          per range, rows = keys
    ///     Sᵀ = −∞ where the mask excludes a pair   (partial ranges only)
    ///     m' = max(m, column max of Sᵀ)            lane-wise over query rows
    ///     Pᵀ = 2^(Sᵀ − m'),  α = 2^(m − m')
    ///     l  = α·l + column sums of Pᵀ,  acc = α·acc + (Pᵀ)ᵀ·V
    ///
    /// A lane that has attended nothing yet (m' = −∞) gets zeros.
    func foldQueuedTransposed<E: StorageElement>(values _: E.Type) {
        guard transposedColumns > 0 else { return }
        let d = headDim, width = K.roundUp(rows)
        if queryTransposed == nil {
            queryTransposed = AlignedBuffer(count: d * K.roundUp(maxRows))
            scoresTransposed = AlignedBuffer(count: maxColumns * K.roundUp(maxRows), zeroed: false)
        }
        let qT = queryTransposed!.baseAddress, sT = scoresTransposed!.baseAddress
        if !queryTransposedReady {
            // Lanes past `rows` are zero, so their scores are finite (and unused).
            transposeQuery(into: qT, width: width)
            for c in 0 ..< d { (qT + c * width + rows).update(repeating: 0, count: width - rows) }
            queryTransposedReady = true
        }
        var offset = 0
        for range in queued {
            let tile = sT + offset * width
            K.multiply(
                a: range.key, aRowStride: d, aColumnStride: 1, b: qT, ldb: width, c: tile, ldc: width,
                rows: range.keys.count, n: width, k: d, accumulate: false)
            if range.partial, let mask {
                applyMask(mask, keys: range.keys, scores: tile, rowStride: 1, columnStride: width)
            }
            offset += range.keys.count
        }
        let total = transposedColumns
        var lane = 0
        while lane + 2 * V.scalarCount <= width {
            updateLanes(Count2.self, from: lane, scores: sT, width: width, keys: total)
            lane += 2 * V.scalarCount
        }
        if lane < width { updateLanes(Count1.self, from: lane, scores: sT, width: width, keys: total) }
        offset = 0
        for range in queued {
            K.multiply(
                a: sT + offset * width, aRowStride: 1, aColumnStride: width,
                b: range.value.assumingMemoryBound(to: E.self), ldb: d,
                c: acc.baseAddress, ldc: d, rows: rows, n: d, k: range.keys.count, accumulate: true)
            offset += range.keys.count
        }
        queued.removeAll(keepingCapacity: true)
        transposedColumns = 0
    }

    /// The softmax update of ``foldQueuedTransposed(values:)`` for `G` vectors of
    /// query lanes from `lane` over the `keys` rows of `Sᵀ`: the column
    /// maxima, then `Pᵀ = 2^(Sᵀ − m')` in place with its column sums, then
    /// the running state. Why two vectors at once: with AVX2 they are one
    /// 64-byte line of a row of `Sᵀ`, so each pass reads every line once
    /// (`Sᵀ` is larger than L1; a vector at a time read each line twice).
    @inline(__always)
    private func updateLanes<G: StaticCount>(
        _: G.Type, from lane: Int, scores sT: UnsafeMutablePointer<Float>,
        width: Int, keys total: Int
    ) {
        let two = G.value == 2, w = V.scalarCount
        let mOldA = V.load(rowMax.baseAddress + lane), mOldB = two ? V.load(rowMax.baseAddress + lane + w) : V()
        // Two independent maxima per vector: one chain would wait on each compare.
        var a0 = mOldA, a1 = mOldA, b0 = mOldB, b1 = mOldB
        var j = 0
        while j + 2 <= total {
            let cell = sT + j * width + lane
            a0 = a0.maximum(V.load(cell))
            a1 = a1.maximum(V.load(cell + width))
            if two {
                b0 = b0.maximum(V.load(cell + w))
                b1 = b1.maximum(V.load(cell + width + w))
            }
            j += 2
        }
        if j < total {
            let cell = sT + j * width + lane
            a0 = a0.maximum(V.load(cell))
            if two { b0 = b0.maximum(V.load(cell + w)) }
        }
        // −∞ (a lane with nothing attended yet) becomes the lowest float, so
        // that −∞ − m' is −∞ (→ 0), never −∞ + ∞ = NaN.
        let lowest = V(repeating: -.greatestFiniteMagnitude)
        let mNewA = a0.maximum(a1), mNewB = b0.maximum(b1)
        let shiftA = mNewA.maximum(lowest), shiftB = mNewB.maximum(lowest)
        var sumA = V(), sumB = V()
        for j in 0 ..< total {
            let cell = sT + j * width + lane
            let pA = exp2(nonPositive: V.load(cell) - shiftA)
            pA.store(to: cell)
            sumA += pA
            if two {
                let pB = exp2(nonPositive: V.load(cell + w) - shiftB)
                pB.store(to: cell + w)
                sumB += pB
            }
        }
        updateState(lane: lane, oldMax: mOldA, newMax: mNewA, sum: sumA)
        if two { updateState(lane: lane + w, oldMax: mOldB, newMax: mNewB, sum: sumB) }
    }

    /// The online-softmax update of the running state, the one both folds
    /// use: `l = α·l + sum`, `m = m'` and `acc = α·acc` for the query rows
    /// `lane ..< lane + V.scalarCount`, with `α = 2^(m − m')`. A row that had
    /// attended nothing (m = −∞) gets α = 0; one that still has not
    /// (m' = −∞ too) keeps l = 0.
    @inline(__always)
    private func updateState(lane: Int, oldMax: V, newMax: V, sum: V) {
        let rescale = exp2(nonPositive: oldMax - newMax.maximum(V(repeating: -.greatestFiniteMagnitude)))
        (V.load(rowSum.baseAddress + lane) * rescale + sum).store(to: rowSum.baseAddress + lane)
        newMax.store(to: rowMax.baseAddress + lane)
        for r in lane ..< min(lane + V.scalarCount, rows) where rescale[r - lane] != 1 {
            RowOps<V>.scale(acc.baseAddress + r * headDim, count: headDim, by: rescale[r - lane])
        }
    }

    /// `qT[c · width + r] = scale·log₂e · Q_b[r][c]`: the query block as
    /// the B operand of `K · Q_bᵀ`. Row by row of Q_b (contiguous loads, each
    /// scaled as a vector), scattered into columns of `qT`, which is small
    /// enough to stay in L1.
    private func transposeQuery(into qT: UnsafeMutablePointer<Float>, width: Int) {
        let d = headDim, q = query!, scale = V(repeating: alpha)
        for r in 0 ..< rows {
            let row = q + r &* d
            var c = 0
            while c + V.scalarCount <= d {
                let x = V.load(row + c) * scale
                for l in 0 ..< V.scalarCount { qT[(c &+ l) &* width &+ r] = x[l] }
                c += V.scalarCount
            }
            while c < d {
                qT[c &* width &+ r] = alpha * row[c]
                c += 1
            }
        }
    }

    /// Whether key ranges can be queued with ``queueTransposed(key:value:keys:partial:)``
    /// and folded in as one product (the SIMD kernels; OpenBLAS gathers
    /// copies instead, see ``KeyGather``).
    var canQueue: Bool { !KernelTable.descriptor(K.id).gathersByCopy }

    /// Whether the block is better folded row-wise, with ``FewRowKernel``:
    /// a block of a few rows (decoding) would fill a vector of query lanes
    /// with one to eight rows in the transposed fold.
    var prefersRowWise: Bool { rows <= FewRowKernel<V>.maxRows }

    /// Folds `columns` keys and values (rows of `headDim` elements at `key`
    /// and `value`) into the block. With `mask`, pairs it excludes are
    /// dropped (`queries` and `keys` give the tile's absolute indices);
    /// without it every pair counts. Half-precision rows are widened as they
    /// are loaded (the keys as they are packed), except with a kernel that
    /// does not ``TileKernel/loadsHalfPrecision``, which takes float32 only
    /// in blocks of more than a few rows (checked).
    func accumulate<E: StorageElement>(
        key: UnsafePointer<E>, value: UnsafePointer<E>, columns: Int,
        mask: AttentionMask? = nil, queries: Range<Int> = 0 ..< 0, keys: Range<Int> = 0 ..< 0
    ) {
        precondition(columns >= 1 && columns <= maxColumns)
        let d = headDim
        let s = scores.baseAddress
        let fewRows = rows <= FewRowKernel<V>.maxRows
        if fewRows {
            FewRowKernel<V>.scores(
                query: query!, rows: rows, key: key, columns: columns, d: d, scale: alpha, into: s, lds: scoreStride)
        } else {
            K.scores(
                query: query!, rows: rows, key: key, columns: columns, d: d, scale: alpha,
                packed: packedKeys.baseAddress, into: s, lds: scoreStride)
        }
        if let mask { applyMask(mask, keys: keys, scores: s, rowStride: scoreStride, columnStride: 1) }

        // Per row: m' = max(m, rowmax S), P = 2^(S − m') in place and its sum;
        // a row with nothing attended yet (m' = −∞) shifts by the lowest float,
        // so its −∞ scores give zeros, as in the transposed fold.
        let width = K.roundUp(rows)
        for r in 0 ..< rows {
            let row = s + r * scoreStride
            let mNew = Swift.max(rowMax[r], RowOps<V>.max(row, count: columns))
            newRowMax[r] = mNew
            newRowSum[r] = RowOps<V>.exp2InPlaceAndSum(
                row, count: columns, shift: Swift.max(mNew, -.greatestFiniteMagnitude))
        }
        // Lanes past `rows` have attended nothing (−∞, 0), like their state from ``begin(query:rows:scale:queries:mask:)``.
        (newRowMax.baseAddress + rows).update(repeating: -.infinity, count: width - rows)
        (newRowSum.baseAddress + rows).update(repeating: 0, count: width - rows)
        var lane = 0
        while lane < width {
            updateState(
                lane: lane, oldMax: V.load(rowMax.baseAddress + lane), newMax: V.load(newRowMax.baseAddress + lane),
                sum: V.load(newRowSum.baseAddress + lane))
            lane += V.scalarCount
        }
        if fewRows {
            FewRowKernel<V>.accumulate(
                probabilities: s, ldp: scoreStride, rows: rows, value: value, columns: columns, d: d,
                into: acc.baseAddress)
        } else {
            K.multiply(
                a: s, aRowStride: scoreStride, aColumnStride: 1, b: value, ldb: d, c: acc.baseAddress, ldc: d,
                rows: rows, n: d, k: columns, accumulate: true)
        }
    }

    /// Writes the normalized block, `acc / l` row by row, to `output`
    /// (`rows × headDim`, rounded to `E`; packed group `g`'s rows from
    /// `output + g·groupStride`); rows that attended nothing get zeros. The
    /// accumulator is normalized in place: the block is done.
    func finish<E: StorageElement>(into output: UnsafeMutablePointer<E>, groupStride: Int = 0) {
        let d = headDim, perGroup = rows / groups
        for r in 0 ..< rows {
            let l = rowSum[r]
            let src = acc.baseAddress + r * d
            RowOps<V>.scale(src, count: d, by: l > 0 ? 1 / l : 0)
            let (g, i) = r.quotientAndRemainder(dividingBy: perGroup)
            E.narrow(src, into: output + g * groupStride + i * d, count: d)
        }
    }

    /// Writes each row's log-sum-exp of its scaled scores, the backward
    /// pass's saved `L = ln Σ_j exp(scale·q·k_j) = (m + log₂ l) · ln 2` (the
    /// state is base 2), or −∞ for a row that attended nothing; packed group
    /// `g`'s rows from `output + g·groupStride`.
    func writeLogSumExp(into output: UnsafeMutablePointer<Float>, groupStride: Int) {
        let perGroup = rows / groups
        for r in 0 ..< rows {
            let l = rowSum[r]
            let (g, i) = r.quotientAndRemainder(dividingBy: perGroup)
            output[g * groupStride + i] = l > 0 ? (rowMax[r] + log2(l)) * Float(M_LN2) : -.infinity
        }
    }

    /// Copies the running state out unnormalized, for a split of the keys
    /// that ``KeySplit`` merges later: `acc` (`rows × headDim`), then the
    /// running maxima `m` (base 2, scaled) and sums `l` (`rows` each).
    func exportState(
        acc out: UnsafeMutablePointer<Float>, max maxima: UnsafeMutablePointer<Float>,
        sum sums: UnsafeMutablePointer<Float>
    ) {
        out.update(from: acc.baseAddress, count: rows * headDim)
        maxima.update(from: rowMax.baseAddress, count: rows)
        sums.update(from: rowSum.baseAddress, count: rows)
    }
}
