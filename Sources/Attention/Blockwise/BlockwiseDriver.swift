/// Runs blockwise attention with `kernel`.
///
/// A work unit is one (batch, key/value head, query block): the block packs
/// the same query rows of every query head that shares the key/value head
/// (grouped-query packing), so each key and value row is read once per
/// group rather than once per query head. When there are too few units to
/// keep every worker busy (decoding), each unit's keys are split across
/// workers as well (``KeySplit``), and the pieces are merged at the end.
/// A worker folds the key ranges the plan names into its own
/// ``OnlineSoftmaxTile`` and writes the block's output rows.
///
/// Half-precision inputs are widened as they load: the query rows once per
/// block (``OnlineSoftmaxTile/begin(query:rows:scale:queries:mask:groups:groupStride:)``);
/// the keys and values in registers by a block of a few rows (decoding,
/// ``FewRowKernel``), and otherwise each key range into a per-worker
/// ``KeyGather`` stage before the register-blocked products, or, when the
/// plan's blocks slide along the keys, into a per-worker ``WidenedBand``
/// that keeps them for the next blocks; the output rows are rounded as
/// they are stored.
///
/// OpenBLAS runs single-threaded inside the workers: the parallelism is over
/// units, so one long head still uses every core.
///
/// With `logSumExp` (the training forward) each row's log-sum-exp is
/// written too (``SavedForward``), and the keys are not split.
func runBlockwiseAttention(
    _ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int,
    plan: some KeyVisitPlan, kernel: KernelID, workspaces: WorkspacePool, logSumExp: Tensor? = nil
) {
    inputs.precision.dispatch(
        BlockwiseElements(
            inputs: inputs, mask: mask, output: output, threads: threads, plan: plan, kernel: kernel,
            workspaces: workspaces, logSumExp: logSumExp))
}

/// ``runBlockwiseAttention(_:mask:output:threads:plan:kernel:workspaces:)``
/// with the element type known, choosing the kernel's.
private struct BlockwiseElements<Plan: KeyVisitPlan>: PrecisionBody {
    let inputs: AttentionInputs
    let mask: AttentionMask
    let output: Tensor
    let threads: Int
    let plan: Plan
    let kernel: KernelID
    let workspaces: WorkspacePool
    let logSumExp: Tensor?

    func run<E: StorageElement>(_: E.Type) {
        kernel.dispatch(
            BlockwiseRun<Plan, E>(
                inputs: inputs, mask: mask, output: output, threads: threads, plan: plan,
                workspaces: workspaces, logSumExp: logSumExp))
    }
}

/// The work layout of a blockwise run, shared by the run and the memory
/// prediction so the two cannot disagree.
struct BlockwiseLayout {
    /// Query heads packed per unit (the group size H / Hkv).
    let groups: Int
    /// Rows of a packed block: `groups` × the plan's rows.
    let maxRows: Int
    /// (batch, key/value head, query block) units.
    let units: Int
    let split: KeySplit

    init(shape: AttentionShape, queryBlocks: Int, planRows: Int, maxColumns: Int, threads: Int, splitsKeys: Bool = true)
    {
        groups = shape.groupSize
        maxRows = groups * planRows
        units = shape.batch * shape.kvHeads * queryBlocks
        split =
            splitsKeys
            ? KeySplit(units: units, threads: threads, keyLength: shape.keyLength, maxColumns: maxColumns)
            : KeySplit(count: 1)
    }

    /// Items handed to workers: every piece of every unit.
    var items: Int { units * split.count }
}

/// Query rows per block for a plan whose tile has `tileRows` rows, when
/// `groupSize` heads are packed into it: the packed block keeps about the
/// tile's rows (at least one row a head).
func packedBlockRows(tileRows: Int, groupSize: Int) -> Int { max(1, tileRows / max(1, groupSize)) }

/// ``runBlockwiseAttention(_:mask:output:threads:plan:kernel:workspaces:)``
/// with the kernel's and the element's types known.
struct BlockwiseRun<Plan: KeyVisitPlan, E: StorageElement>: KernelBody {
    let inputs: AttentionInputs
    let mask: AttentionMask
    let output: Tensor
    let threads: Int
    let plan: Plan
    let workspaces: WorkspacePool
    let logSumExp: Tensor?

    func run<K: TileKernel>(_ kernel: K.Type) {
        let plan = self.plan, mask = self.mask
        let shape = inputs.shape
        let d = shape.headDim, nq = shape.queryLength
        let queryBlocks = plan.queryBlocks
        let layout = BlockwiseLayout(
            shape: shape, queryBlocks: queryBlocks.count, planRows: plan.maxRows, maxColumns: plan.maxColumns,
            threads: threads, splitsKeys: logSumExp == nil)
        let groups = layout.groups, pieces = layout.split
        let workerCount = tiledWorkers(units: layout.items, threads: threads)
        BLAS.setThreads(1)
        let tileKey = "tile \(K.id) \(layout.maxRows)x\(plan.maxColumns)x\(d)",
            gatherKey = "gather \(plan.maxColumns)x\(d)",
            // (Short keys: up to 15 UTF-8 bytes a String stores inline, no allocation per call.)
            bandKey = "band \(plan.maxColumns)x\(d)",
            // With a band, the transposed fold reads float32 values from it,
            // and the ranges behind it must be widened alike.
            stageKeysOnly = K.loadsHalfPrecision && !plan.slidesAlongKeys,
            stageKey = stageKeysOnly ? "keys \(plan.maxColumns)x\(d)" : "stage \(plan.maxColumns)x\(d)"
        let tiles = (0 ..< workerCount).map { _ in
            workspaces.take(tileKey) {
                OnlineSoftmaxTile<K>(maxRows: layout.maxRows, maxColumns: plan.maxColumns, headDim: d)
            }
        }
        let copies = KernelTable.descriptor(K.id).gathersByCopy
        func keyBuffers(_ key: String, keysOnly: Bool = false) -> [KeyGather] {
            (0 ..< workerCount).map { _ in
                workspaces.take(key) { KeyGather(capacity: plan.maxColumns, headDim: d, keysOnly: keysOnly) }
            }
        }
        let gathers = plan.gathersKeys && copies ? keyBuffers(gatherKey) : []
        // Where half-precision key ranges are widened before the register-
        // blocked products (see ``widensIntoStage``): held across blocks in a
        // band when the plan slides along the keys, else per block in a stage.
        let widens = widensIntoStage(
            precision: E.precision, maxRows: layout.maxRows, gathersKeys: plan.gathersKeys, kernel: K.self)
        let bands =
            widens && plan.slidesAlongKeys
            ? (0 ..< workerCount).map { _ in
                workspaces.take(bandKey) { WidenedBand(columns: plan.maxColumns, headDim: d) }
            } : []
        // A band's head pointer may name new data in this call.
        for band in bands { band.removeAll() }
        let stages = widens ? keyBuffers(stageKey, keysOnly: stageKeysOnly) : []
        let stateFloats = KeySplit.stateFloats(rows: layout.maxRows, headDim: d)
        let partialCount = pieces.count > 1 ? layout.items * stateFloats : 0
        let partialKey = "partials \(partialCount)"
        let partials = partialCount > 0 ? [workspaces.take(partialKey) { AlignedBuffer(count: partialCount) }] : []
        defer {
            workspaces.give(tileKey, tiles)
            workspaces.give(gatherKey, gathers)
            workspaces.give(stageKey, stages)
            workspaces.give(bandKey, bands)
            workspaces.give(partialKey, partials)
        }
        let io = UncheckedSendable(
            (
                q: inputs.query.elements(E.self), k: inputs.key.elements(E.self),
                v: inputs.value.elements(E.self), o: output.elements(E.self), tiles: tiles, gathers: gathers,
                stages: stages, bands: bands, partials: partials.first?.baseAddress, lse: logSumExp?.floats
            ))
        // Where a unit's rows are: group g's rows of query block `block`
        // start at `qOffset + g·groupStride` in Q and in O.
        let groupStride = nq * d
        func locate(_ unit: Int) -> (queries: Range<Int>, qOffset: Int, kOffset: Int) {
            let (head, block) = unit.quotientAndRemainder(dividingBy: queryBlocks.count)
            let (b, kvHead) = head.quotientAndRemainder(dividingBy: shape.kvHeads)
            let queries = queryBlocks[block]
            let firstHead = kvHead * groups
            return (
                queries, shape.queryOffset(batch: b, head: firstHead) + queries.lowerBound * d,
                shape.keyOffset(batch: b, head: firstHead)
            )
        }
        ParallelWork.run(units: layout.items, workers: workerCount) { worker, item in
            let (unit, piece) = item.quotientAndRemainder(dividingBy: pieces.count)
            let (queries, qOffset, kOffset) = locate(unit)
            let k = io.value.k + kOffset, v = io.value.v + kOffset
            let tile = io.value.tiles[worker]
            tile.begin(
                query: io.value.q + qOffset, rows: groups * queries.count, scale: shape.scale, queries: queries,
                mask: mask, groups: groups, groupStride: groupStride)
            let gather = io.value.gathers.isEmpty ? nil : io.value.gathers[worker]
            let stage = io.value.stages.isEmpty ? nil : io.value.stages[worker]
            let band = io.value.bands.isEmpty ? nil : io.value.bands[worker]
            // A key range as float32 rows: in place, or widened into the
            // stage after the rows already there (the ranges queued on the
            // tile, which read them in place until they are folded).
            func floats(_ key: UnsafePointer<E>, _ value: UnsafePointer<E>, rows: Int)
                -> (key: UnsafePointer<Float>, value: UnsafePointer<Float>)
            {
                guard let stage else { return (key.asFloat32, value.asFloat32) }
                let first = stage.count
                stage.append(key: key, value: value, rows: rows)
                return (stage.keys + first * d, stage.values + first * d)
            }
            // The same for the keys alone (the transposed fold's values are read as stored).
            func floatKeys(_ key: UnsafePointer<E>, rows: Int) -> UnsafePointer<Float> {
                guard let stage else { return key.asFloat32 }
                let first = stage.count
                stage.appendKeys(key, rows: rows)
                return stage.keys + first * d
            }
            func foldQueued() {
                // With a band every queued value row is float32 (see `stageKeysOnly`).
                if band != nil {
                    tile.foldQueuedTransposed(values: Float.self)
                } else {
                    tile.foldQueuedTransposed(values: E.self)
                }
                stage?.removeAll()
            }
            func flush() {
                foldQueued()
                guard let g = gather, g.count > 0 else { return }
                tile.accumulate(key: g.keys, value: g.values, columns: g.count)
                g.removeAll()
            }
            // When the plan folds transposed: every range is queued on the tile
            // (SIMD kernels; nothing is copied, and ranges shorter than a tile
            // are folded in together), or, with OpenBLAS, fully attended ranges
            // shorter than a tile are copied together into a KeyGather.
            pieces.visitKeys(of: queries, piece: piece, plan: plan) { keys, partial in
                let key = k + keys.lowerBound * d, value = v + keys.lowerBound * d
                let held = band?.rows(key: k, value: v, keys: keys, beforeMoving: foldQueued)
                if plan.gathersKeys, tile.canQueue, !tile.prefersRowWise {
                    if tile.transposedColumns + keys.count > plan.maxColumns { foldQueued() }
                    if band != nil {
                        let rows = held ?? floats(key, value, rows: keys.count)
                        tile.queueTransposed(key: rows.key, value: rows.value, keys: keys, partial: partial)
                    } else {
                        tile.queueTransposed(
                            key: floatKeys(key, rows: keys.count), value: value, keys: keys, partial: partial)
                    }
                } else if let held {
                    tile.accumulate(
                        key: held.key, value: held.value, columns: keys.count, mask: partial ? mask : nil,
                        queries: queries, keys: keys)
                } else if plan.gathersKeys, !partial, keys.count < plan.maxColumns, let g = gather {
                    if !g.fits(keys.count) { flush() }
                    g.append(key: key, value: value, rows: keys.count)
                } else if tile.prefersRowWise || K.loadsHalfPrecision {
                    // As stored: the products widen what they load.
                    tile.accumulate(
                        key: key, value: value, columns: keys.count, mask: partial ? mask : nil, queries: queries,
                        keys: keys)
                } else {
                    let first = stage?.count ?? 0
                    let rows = floats(key, value, rows: keys.count)
                    tile.accumulate(
                        key: rows.key, value: rows.value, columns: keys.count,
                        mask: partial ? mask : nil, queries: queries, keys: keys)
                    stage?.truncate(to: first)
                }
            }
            flush()
            if let partials = io.value.partials {
                let state = partials + item * stateFloats
                let rows = groups * queries.count
                tile.exportState(acc: state, max: state + rows * d, sum: state + rows * d + rows)
            } else {
                tile.finish(into: io.value.o + qOffset, groupStride: groupStride)
                // Row `qOffset / d` of the [B, H, Nq] log-sum-exp is this block's first.
                if let lse = io.value.lse { tile.writeLogSumExp(into: lse + qOffset / d, groupStride: nq) }
            }
        }
        guard let partials = io.value.partials else { return }
        ParallelWork.run(units: layout.units, workers: workerCount) { _, unit in
            let (queries, qOffset, _) = locate(unit)
            pieces.merge(
                partials: partials + unit * pieces.count * stateFloats, pieceStride: stateFloats,
                rows: groups * queries.count, headDim: d,
                into: io.value.o + qOffset, groupStride: groupStride, perGroup: queries.count)
        }
    }
}

/// `tile` cut down to the problem: a tile larger than the lengths computes
/// the same thing with a workspace no larger than the problem needs.
func fitted(_ tile: TileSize, to shape: AttentionShape) -> TileSize {
    TileSize(validRows: min(tile.rows, shape.queryLength), columns: min(tile.columns, shape.keyLength))
}

/// Whether a run widens half-precision key ranges into a per-worker stage:
/// only when some block has more rows than ``FewRowKernel`` takes, and
/// either the kernel multiplies float32 only (OpenBLAS) or the plan queues
/// ranges for the transposed fold, whose `K · Q_bᵀ` broadcasts key elements
/// one at a time (a conversion each). Otherwise the products widen K as
/// they pack it and V as they load it.
func widensIntoStage<K: TileKernel>(precision: Precision, maxRows: Int, gathersKeys: Bool, kernel _: K.Type) -> Bool {
    precision != .f32 && maxRows > FewRowKernel<K.Vector>.maxRows && (gathersKeys || !K.loadsHalfPrecision)
}

/// Workers a blockwise run uses.
func tiledWorkers(units: Int, threads: Int) -> Int { max(1, min(threads, units)) }

/// The extra memory of a blockwise run of `plan` with `kernel`: per worker,
/// the tile workspace of a packed block
/// (``OnlineSoftmaxTile/workspaceBytes(maxRows:maxColumns:headDim:)``, plus
/// the transposed fold's buffers instead of the row-wise fold's packed keys,
/// or the ``KeyGather`` copies, when the plan gathers, plus the packed query rows
/// when grouped heads must be copied
/// together or the rows are half precision, and, in half precision, the
/// stage the key ranges are widened into, or the ``WidenedBand`` a plan
/// sliding along the keys holds them in), 192 KiB that a worker thread touches besides (its stack and
/// allocator state), and, with OpenBLAS, 192 KiB of its packing buffers;
/// once, the split pieces' partial states when the keys are split. The
/// constants were fitted on measured peaks minus the workspaces (see
/// docs/DECISIONS.md); they do not grow with the tile or the length.
func blockwiseExtraBytes(
    shape: AttentionShape, plan: some KeyVisitPlan, threads: Int, kernel: KernelID, precision: Precision
) -> Int {
    let layout = BlockwiseLayout(
        shape: shape, queryBlocks: plan.queryBlocks.count, planRows: plan.maxRows, maxColumns: plan.maxColumns,
        threads: threads)
    let perWorker = kernel.dispatch(
        BlockwiseBytes(
            shape: shape, maxRows: layout.maxRows, maxColumns: plan.maxColumns, gathersKeys: plan.gathersKeys,
            slidesAlongKeys: plan.slidesAlongKeys, visitsKeysBehindBand: plan.visitsKeysBehindBand,
            copiesQueries: precision != .f32 || (layout.groups > 1 && plan.queryBlocks.count > 1),
            precision: precision))
    let partials =
        layout.split.count > 1
        ? layout.items * KeySplit.stateFloats(rows: layout.maxRows, headDim: shape.headDim)
            * MemoryLayout<Float>.stride : 0
    return perWorker * tiledWorkers(units: layout.items, threads: threads) + partials
}

/// One worker's share of ``blockwiseExtraBytes(shape:plan:threads:kernel:precision:)``.
struct BlockwiseBytes: KernelBody {
    let shape: AttentionShape
    let maxRows: Int
    let maxColumns: Int
    let gathersKeys: Bool
    let slidesAlongKeys: Bool
    let visitsKeysBehindBand: Bool
    let copiesQueries: Bool
    let precision: Precision

    func run<K: TileKernel>(_ kernel: K.Type) -> Int {
        let d = shape.headDim
        var bytes =
            OnlineSoftmaxTile<K>.workspaceBytes(maxRows: maxRows, maxColumns: maxColumns, headDim: d) + (192 << 10)
        let copies = KernelTable.descriptor(K.id).gathersByCopy
        if gathersKeys && copies {
            bytes += KeyGather.workspaceBytes(capacity: maxColumns, headDim: d)
        } else if gathersKeys {
            bytes += OnlineSoftmaxTile<K>.transposedBytes(maxRows: maxRows, maxColumns: maxColumns, headDim: d)
            // Blocks of more than a few rows fold only transposed: the row-wise
            // fold's packed keys are never touched, so they are not resident.
            if maxRows > FewRowKernel<K.Vector>.maxRows {
                bytes -= OnlineSoftmaxTile<K>.packedKeyBytes(maxColumns: maxColumns, headDim: d)
            }
        }
        if copiesQueries { bytes += maxRows * d * MemoryLayout<Float>.stride }
        if widensIntoStage(precision: precision, maxRows: maxRows, gathersKeys: gathersKeys, kernel: K.self) {
            if slidesAlongKeys {
                bytes += WidenedBand.workspaceBytes(columns: maxColumns, headDim: d)
                // The stage is touched only by the ranges behind the band.
                if visitsKeysBehindBand { bytes += KeyGather.workspaceBytes(capacity: maxColumns, headDim: d) }
            } else {
                bytes += KeyGather.workspaceBytes(capacity: maxColumns, headDim: d, keysOnly: K.loadsHalfPrecision)
            }
        }
        if copies { bytes += 192 << 10 }
        return bytes
    }
}
