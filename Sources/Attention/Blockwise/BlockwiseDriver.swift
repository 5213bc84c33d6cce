/// Runs blockwise attention with `kernel`: every (batch, head, query block)
/// is one unit of work; a worker folds the key ranges the plan names into
/// its own ``OnlineSoftmaxTile`` and writes the block's output rows.
///
/// OpenBLAS runs single-threaded inside the workers: the parallelism is over
/// units, so one long head still uses every core.
func runBlockwiseAttention(
    _ inputs: AttentionInputs, mask: AttentionMask, output: AlignedBuffer, threads: Int,
    plan: some KeyVisitPlan, kernel: KernelID, workspaces: WorkspacePool
) {
    kernel.dispatch(
        BlockwiseRun(
            inputs: inputs, mask: mask, output: output, threads: threads, plan: plan,
            workspaces: workspaces))
}

/// ``runBlockwiseAttention(_:mask:output:threads:plan:kernel:workspaces:)``
/// with the kernel's type known.
struct BlockwiseRun<Plan: KeyVisitPlan>: KernelBody {
    let inputs: AttentionInputs
    let mask: AttentionMask
    let output: AlignedBuffer
    let threads: Int
    let plan: Plan
    let workspaces: WorkspacePool

    func run<K: TileKernel>(_ kernel: K.Type) {
        let plan = self.plan, mask = self.mask
        let shape = inputs.shape
        let d = shape.headDim
        let queryBlocks = plan.queryBlocks
        let units = shape.batch * shape.heads * queryBlocks.count
        let workerCount = tiledWorkers(units: units, threads: threads)
        BLAS.setThreads(1)
        let tileKey = "tile \(K.id) \(plan.maxRows)x\(plan.maxColumns)x\(d)",
            gatherKey = "gather \(plan.maxColumns)x\(d)"
        let tiles = (0 ..< workerCount).map { _ in
            workspaces.take(tileKey) {
                OnlineSoftmaxTile<K>(maxRows: plan.maxRows, maxColumns: plan.maxColumns, headDim: d)
            }
        }
        let gathers =
            plan.gathersKeys && KernelTable.descriptor(K.id).gathersByCopy
            ? (0 ..< workerCount).map { _ in
                workspaces.take(gatherKey) { KeyGather(capacity: plan.maxColumns, headDim: d) }
            } : []
        defer {
            workspaces.give(tileKey, tiles)
            workspaces.give(gatherKey, gathers)
        }
        let io = UncheckedSendable(
            (
                q: inputs.query.baseAddress, k: inputs.key.baseAddress,
                v: inputs.value.baseAddress, o: output.baseAddress, tiles: tiles, gathers: gathers
            ))
        ParallelWork.run(units: units, workers: workerCount) { worker, unit in
            let (head, block) = unit.quotientAndRemainder(dividingBy: queryBlocks.count)
            let (b, h) = head.quotientAndRemainder(dividingBy: shape.heads)
            let queries = queryBlocks[block]
            let qOffset = shape.queryOffset(batch: b, head: h) + queries.lowerBound * d
            let k = io.value.k + shape.keyOffset(batch: b, head: h)
            let v = io.value.v + shape.keyOffset(batch: b, head: h)
            let tile = io.value.tiles[worker]
            tile.begin(
                query: io.value.q + qOffset, rows: queries.count, scale: shape.scale, queries: queries, mask: mask)
            // When the plan folds transposed: every range is queued on the tile
            // (SIMD kernels; nothing is copied, and ranges shorter than a tile
            // are folded in together), or, with OpenBLAS, fully attended ranges
            // shorter than a tile are copied together into a KeyGather.
            let gather = io.value.gathers.isEmpty ? nil : io.value.gathers[worker]
            func flush() {
                tile.foldQueuedTransposed()
                guard let g = gather, g.count > 0 else { return }
                tile.accumulate(key: g.keys, value: g.values, columns: g.count)
                g.removeAll()
            }
            plan.visitKeys(of: queries) { keys, partial in
                let key = k + keys.lowerBound * d, value = v + keys.lowerBound * d
                if plan.gathersKeys, tile.canQueue {
                    if tile.transposedColumns + keys.count > plan.maxColumns { tile.foldQueuedTransposed() }
                    tile.queueTransposed(key: key, value: value, keys: keys, partial: partial)
                } else if plan.gathersKeys, !partial, keys.count < plan.maxColumns, let g = gather {
                    if !g.fits(keys.count) { flush() }
                    g.append(key: key, value: value, rows: keys.count)
                } else {
                    tile.accumulate(
                        key: key, value: value, columns: keys.count,
                        mask: partial ? mask : nil, queries: queries, keys: keys)
                }
            }
            flush()
            tile.finish(into: io.value.o + qOffset)
        }
    }
}

/// `tile` cut down to the problem: a tile larger than the lengths computes
/// the same thing with a workspace no larger than the problem needs.
func fitted(_ tile: TileSize, to shape: AttentionShape) -> TileSize {
    TileSize(validRows: min(tile.rows, shape.queryLength), columns: min(tile.columns, shape.keyLength))
}

/// Workers a blockwise run uses.
func tiledWorkers(units: Int, threads: Int) -> Int { max(1, min(threads, units)) }

/// The extra memory of a blockwise run with `kernel`, per worker: the tile
/// workspace (``OnlineSoftmaxTile/workspaceBytes(maxRows:maxColumns:headDim:)``,
/// plus the transposed fold's buffers or the ``KeyGather`` copies when the
/// plan gathers), 128 KiB that a worker thread touches besides (its stack
/// and allocator state), and, with OpenBLAS, 192 KiB of its packing buffers.
/// The constants were fitted on measured peaks minus the workspaces (see
/// docs/DECISIONS.md); they do not grow with the tile or the length.
func blockwiseExtraBytes(
    shape: AttentionShape, units: Int, threads: Int, maxRows: Int, maxColumns: Int,
    gathersKeys: Bool = false, kernel: KernelID
) -> Int {
    kernel.dispatch(BlockwiseBytes(shape: shape, maxRows: maxRows, maxColumns: maxColumns, gathersKeys: gathersKeys))
        * tiledWorkers(units: units, threads: threads)
}

/// One worker's share of ``blockwiseExtraBytes(shape:units:threads:maxRows:maxColumns:gathersKeys:kernel:)``.
struct BlockwiseBytes: KernelBody {
    let shape: AttentionShape
    let maxRows: Int
    let maxColumns: Int
    let gathersKeys: Bool

    func run<K: TileKernel>(_ kernel: K.Type) -> Int {
        let d = shape.headDim
        var bytes =
            OnlineSoftmaxTile<K>.workspaceBytes(maxRows: maxRows, maxColumns: maxColumns, headDim: d) + (128 << 10)
        let copies = KernelTable.descriptor(K.id).gathersByCopy
        if gathersKeys {
            bytes +=
                copies
                ? KeyGather.workspaceBytes(capacity: maxColumns, headDim: d)
                : OnlineSoftmaxTile<K>.transposedBytes(maxRows: maxRows, maxColumns: maxColumns, headDim: d)
        }
        if copies { bytes += 192 << 10 }
        return bytes
    }
}
