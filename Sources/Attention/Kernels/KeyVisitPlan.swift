/// Which key ranges each query block visits: the only thing in which the
/// tiled, sliding-window and block-sparse strategies differ. The step done on
/// each visit is ``OnlineSoftmaxTile``'s; ``runTiledAttention`` drives both.
protocol KeyVisitPlan: Sendable {
    /// The query blocks, a partition of `0 ..< queryLength`; each is at most
    /// ``maxRows`` long.
    var queryBlocks: [Range<Int>] { get }
    /// Upper bounds of a query block and of a visited key range.
    var maxRows: Int { get }
    var maxColumns: Int { get }
    /// Calls `visit` with each key range the query block must fold in, in
    /// ascending order, and whether the element mask is needed there
    /// (`partial`). Ranges the mask leaves empty are not visited.
    func visitKeys(of queries: Range<Int>, _ visit: (_ keys: Range<Int>, _ partial: Bool) -> Void)
    /// Whether fully attended ranges shorter than ``maxColumns`` should be
    /// packed together (``KeyGather``) before being folded in.
    var gathersKeys: Bool { get }
}

extension KeyVisitPlan {
    var gathersKeys: Bool { false }

    /// Cuts `range` into consecutive pieces of at most `width`, classifies each
    /// against `mask`, and visits the non-empty ones.
    func visitChunks(of range: Range<Int>, width: Int, queries: Range<Int>, mask: AttentionMask,
                     _ visit: (_ keys: Range<Int>, _ partial: Bool) -> Void) {
        var k0 = range.lowerBound
        while k0 < range.upperBound {
            let keys = k0 ..< min(k0 + width, range.upperBound)
            switch mask.coverage(queries: queries, keys: keys) {
            case .empty: break
            case .partial: visit(keys, true)
            case .full: visit(keys, false)
            }
            k0 = keys.upperBound
        }
    }
}

/// Splits `range` into consecutive blocks of at most `size`.
func blocks(of range: Range<Int>, size: Int) -> [Range<Int>] {
    stride(from: range.lowerBound, to: range.upperBound, by: size).map { $0 ..< min($0 + size, range.upperBound) }
}

/// Runs blockwise attention: every (batch, head, query block) is one unit of
/// work; a worker folds the key ranges the plan names into its own
/// ``OnlineSoftmaxTile`` and writes the block's output rows.
///
/// OpenBLAS runs single-threaded inside the workers: the parallelism is over
/// units, so one long head still uses every core.
func runTiledAttention(_ inputs: AttentionInputs, mask: AttentionMask, output: AlignedBuffer,
                       threads: Int, plan: some KeyVisitPlan, workspaces: WorkspacePool) {
    let shape = inputs.shape
    let d = shape.headDim
    let queryBlocks = plan.queryBlocks
    let units = shape.batch * shape.heads * queryBlocks.count
    let workerCount = tiledWorkers(units: units, threads: threads)
    BLAS.setThreads(1)
    let tileKey = "tile \(plan.maxRows)x\(plan.maxColumns)x\(d)", gatherKey = "gather \(plan.maxColumns)x\(d)"
    let tiles = (0 ..< workerCount).map { _ in
        workspaces.take(tileKey) { OnlineSoftmaxTile(maxRows: plan.maxRows, maxColumns: plan.maxColumns, headDim: d) }
    }
    let gathers = plan.gathersKeys && !OnlineSoftmaxTile.usesMicroGEMM(d)
        ? (0 ..< workerCount).map { _ in workspaces.take(gatherKey) { KeyGather(capacity: plan.maxColumns, headDim: d) } } : []
    defer {
        workspaces.give(tileKey, tiles)
        workspaces.give(gatherKey, gathers)
    }
    let io = UncheckedSendable((q: inputs.query.baseAddress, k: inputs.key.baseAddress,
                                v: inputs.value.baseAddress, o: output.baseAddress, tiles: tiles, gathers: gathers))
    ParallelWork.run(units: units, workers: workerCount) { worker, unit in
        let (head, block) = unit.quotientAndRemainder(dividingBy: queryBlocks.count)
        let (b, h) = head.quotientAndRemainder(dividingBy: shape.heads)
        let queries = queryBlocks[block]
        let qOffset = shape.queryOffset(batch: b, head: h) + queries.lowerBound * d
        let k = io.value.k + shape.keyOffset(batch: b, head: h)
        let v = io.value.v + shape.keyOffset(batch: b, head: h)
        let tile = io.value.tiles[worker]
        tile.begin(query: io.value.q + qOffset, rows: queries.count, scale: shape.scale)
        // Fully attended ranges shorter than a tile are folded in together when
        // the plan asks for it: queued on the tile (SIMD path, no copy of the
        // values) or copied into a KeyGather (OpenBLAS path).
        let gather = io.value.gathers.isEmpty ? nil : io.value.gathers[worker]
        func flush() {
            tile.foldQueuedTransposed()
            guard let g = gather, g.count > 0 else { return }
            tile.accumulate(key: g.keys, value: g.values, columns: g.count)
            g.removeAll()
        }
        plan.visitKeys(of: queries) { keys, partial in
            let key = k + keys.lowerBound * d, value = v + keys.lowerBound * d
            if plan.gathersKeys, !partial, keys.count < plan.maxColumns {
                if tile.canQueue {
                    if tile.transposedColumns + keys.count > plan.maxColumns { tile.foldQueuedTransposed() }
                    tile.queueTransposed(key: key, value: value, columns: keys.count)
                } else if let g = gather {
                    if !g.fits(keys.count) { flush() }
                    g.append(key: key, value: value, rows: keys.count)
                }
            } else {
                tile.accumulate(key: key, value: value, columns: keys.count,
                                mask: partial ? mask : nil, queries: queries, keys: keys)
            }
        }
        flush()
        tile.finish(into: io.value.o + qOffset)
    }
}

/// `tile` cut down to the problem: a tile larger than the lengths computes
/// the same thing with a workspace no larger than the problem needs.
func fitted(_ tile: TileSize, to shape: AttentionShape) -> TileSize {
    try! TileSize(rows: min(tile.rows, shape.queryLength), columns: min(tile.columns, shape.keyLength))
}

/// What gathering scattered ranges adds per worker: the transposed fold's
/// buffers (SIMD path) or the ``KeyGather`` copies (OpenBLAS path).
func gatherBytes(gathersKeys: Bool, maxRows: Int, maxColumns: Int, headDim: Int) -> Int {
    guard gathersKeys else { return 0 }
    guard OnlineSoftmaxTile.usesMicroGEMM(headDim) else {
        return KeyGather.workspaceBytes(capacity: maxColumns, headDim: headDim)
    }
    let lanes = (maxRows + 15) / 16 * 16
    return (headDim + maxColumns) * lanes * MemoryLayout<Float>.stride
}

/// Workers a blockwise run uses.
func tiledWorkers(units: Int, threads: Int) -> Int { max(1, min(threads, units)) }

/// The extra memory of a blockwise run, per worker: the tile workspace
/// (``OnlineSoftmaxTile/workspaceBytes(maxRows:maxColumns:headDim:)``, and
/// the ``KeyGather`` buffers when the plan gathers), 128 KiB that a worker
/// thread touches besides (its stack and allocator state), and, when
/// OpenBLAS does the products (head dims not a multiple of 16), 192 KiB of
/// its packing buffers. Fitted on the measured peak minus the workspaces,
/// B=1, H=8, d=64, 2 threads, N = 4096 and 16384, tiles 64x256 to 512x512:
/// 110-130 KiB per worker with the SIMD products, 300-330 with OpenBLAS's;
/// it does not grow with the tile or the length.
func tiledExtraBytes(shape: AttentionShape, units: Int, threads: Int, maxRows: Int, maxColumns: Int,
                     gathersKeys: Bool = false) -> Int {
    let workspace = OnlineSoftmaxTile.workspaceBytes(maxRows: maxRows, maxColumns: maxColumns, headDim: shape.headDim)
        + gatherBytes(gathersKeys: gathersKeys, maxRows: maxRows, maxColumns: maxColumns, headDim: shape.headDim)
    let threadOverhead = (128 << 10) + (OnlineSoftmaxTile.usesMicroGEMM(shape.headDim) ? 0 : 192 << 10)
    return tiledWorkers(units: units, threads: threads) * (workspace + threadOverhead)
}
