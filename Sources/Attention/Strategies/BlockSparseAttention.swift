/// Block-sparse attention (BigBird, Sparse Transformer, FlexAttention block
/// masks): the layout is kept as compressed rows, and each query block runs
/// the online softmax over only its kept key blocks. Runs of adjacent kept
/// blocks are visited as one key range (up to the tile's column count), so a
/// window of three blocks is one matrix product rather than three small ones.
///
/// The work is proportional to the kept blocks; no Nq×Nk buffer exists. Only
/// block-layout patterns are served.
///
/// The fully attended runs of a query block are folded in together, up to
/// the tile's column count, with one product (the transposed fold of
/// ``OnlineSoftmaxTile``, or ``KeyGather`` copies with OpenBLAS): one
/// product instead of several small ones, and one rescale of the
/// accumulator (measurements in docs/DECISIONS.md).
///
/// - Complexity: O(B·H·(kept blocks)·b²·d) time; one tile workspace per worker.
public struct BlockSparseAttention: AttentionStrategy {
    /// `--tile`: its columns cap a folded key range (rows are the layout's blocks).
    public let tile: TileSize?
    /// The tile kernel of both products.
    public let kernel: KernelID
    public var tileKernel: KernelID? { kernel }
    /// Tile workspaces kept between calls (see ``WorkspacePool``).
    let workspaces = WorkspacePool()

    public init(tile: TileSize? = nil, kernel: KernelID? = nil) {
        self.tile = tile
        self.kernel = kernel ?? KernelTable.defaultKernel
    }

    /// Reads ``StrategyOptions/tile`` (its columns) and ``StrategyOptions/kernel``.
    public init(options: StrategyOptions) { self.init(tile: options.tile, kernel: options.kernel) }

    public static let name = "block-sparse"
    public static let benchmarkPattern = MaskPattern.bigBird(.init(blockSize: 64))

    public func execution(shape: AttentionShape, mask: AttentionMask) -> StrategyExecution {
        guard let layout = mask.blockLayout else {
            return StrategyExecution(kernel: KernelTable.descriptor(kernel).name, tile: nil)
        }
        return StrategyExecution(
            kernel: KernelTable.descriptor(kernel).name,
            tile: TileSize(
                validRows: min(layout.blockSize, shape.queryLength),
                columns: maxColumns(layout, keyLength: shape.keyLength)))
    }

    /// Key columns folded at once {256, 512, 1024} (rows are the layout's blocks).
    public func tuningCandidates(shape: AttentionShape, mask: AttentionMask) -> [TileSize] {
        guard let layout = mask.blockLayout else { return [] }
        var seen = Set<TileSize>()
        let rows = min(layout.blockSize, shape.queryLength)
        return [256, 512, 1024].map {
            TileSize(validRows: rows, columns: min(max($0, layout.blockSize), shape.keyLength))
        }
        .filter { seen.insert($0).inserted }
    }
    public var summary: String { "online softmax over the layout's kept blocks only (CSR rows)" }
    public var supportedKinds: Set<MaskPattern.Kind> { [.blocks] }

    struct Plan: KeyVisitPlan {
        let mask: AttentionMask
        let layout: BlockLayout
        let queryBlocks: [Range<Int>]
        let maxColumns: Int
        /// Query rows of one head per block: a layout block, cut in pieces
        /// when `groupSize` heads are packed together (pieces never straddle
        /// two layout blocks, whose kept keys differ).
        let maxRows: Int
        var gathersKeys: Bool { true }

        init(mask: AttentionMask, layout: BlockLayout, maxColumns: Int, groupSize: Int) {
            self.mask = mask
            self.layout = layout
            self.maxColumns = maxColumns
            let b = layout.blockSize, nq = mask.queryLength
            let rows = packedBlockRows(tileRows: min(b, nq), groupSize: groupSize)
            maxRows = rows
            // One array, no temporaries: a plan is made on every forward pass.
            // (Ends are found by adding what is left, never past `nq`: a
            // layout's block size can be anything up to Int.max.)
            var pieces: [Range<Int>] = []
            pieces.reserveCapacity(nq / rows + nq / b + 1)
            var start = 0
            while start < nq {
                let end = start + min(b, nq - start)
                var piece = start
                while piece < end {
                    let next = piece + min(rows, end - piece)
                    pieces.append(piece ..< next)
                    piece = next
                }
                start = end
            }
            queryBlocks = pieces
        }

        func visitKeys(of queries: Range<Int>, _ visit: (Range<Int>, Bool) -> Void) {
            let b = layout.blockSize
            var run: Range<Int>? = nil
            func flush() {
                if let r = run { visitChunks(of: r, width: maxColumns, queries: queries, mask: mask, visit) }
                run = nil
            }
            for c in layout.keptBlocks(ofRow: queries.lowerBound / b) {
                let keys = c * b ..< min((c + 1) * b, mask.keyLength)
                if let r = run, r.upperBound == keys.lowerBound, r.count + keys.count <= maxColumns {
                    run = r.lowerBound ..< keys.upperBound
                } else {
                    flush()
                    run = keys
                }
            }
            flush()
        }
    }

    /// The widest key range folded at once: the tile's columns (at least one
    /// block), never more than the keys there are.
    func maxColumns(_ layout: BlockLayout, keyLength: Int) -> Int {
        min(max(tile?.columns ?? KernelTable.descriptor(kernel).blockSparseColumns, layout.blockSize), keyLength)
    }

    public func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int, precision: Precision)
        -> Int
    {
        guard let plan = plan(shape: shape, mask: mask) else { return 0 }
        return blockwiseExtraBytes(shape: shape, plan: plan, threads: threads, kernel: kernel, precision: precision)
    }

    /// The plan for a block-layout mask (nil for any other).
    func plan(shape: AttentionShape, mask: AttentionMask) -> Plan? {
        guard let layout = mask.blockLayout else { return nil }
        return Plan(
            mask: mask, layout: layout, maxColumns: maxColumns(layout, keyLength: shape.keyLength),
            groupSize: shape.groupSize)
    }

    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int) throws {
        try validate(inputs, mask: mask, output: output, threads: threads)
        guard let plan = plan(shape: inputs.shape, mask: mask) else {
            preconditionFailure("validate() admits only block layouts")
        }
        try KernelTable.require(kernel)
        runBlockwiseAttention(
            inputs, mask: mask, output: output, threads: threads, plan: plan, kernel: kernel, workspaces: workspaces)
    }

    /// f32 inputs only: the backward widens nothing yet.
    public func backwardUnavailability(precision: Precision) -> String? { float32BackwardUnavailability(precision) }

    /// The forward, also writing each row's log-sum-exp (keys are not split).
    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, saving saved: SavedForward, threads: Int) throws
    {
        try runBlockwiseTrainingForward(
            self, inputs, mask: mask, saved: saved, threads: threads, plan: plan(shape: inputs.shape, mask: mask),
            kernel: kernel,
            workspaces: workspaces)
    }

    /// FlashAttention-2's backward over the same key visit plan (``runBlockwiseBackward``).
    public func backward(
        _ inputs: AttentionInputs, mask: AttentionMask, saved: SavedForward, outputGradient: Tensor,
        into gradients: AttentionGradients, threads: Int
    ) throws {
        try runBlockwiseBackwardPass(
            self, inputs, mask: mask, saved: saved, outputGradient: outputGradient, gradients: gradients,
            threads: threads, plan: plan(shape: inputs.shape, mask: mask), kernel: kernel, workspaces: workspaces)
    }

    public func predictedBackwardExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int) -> Int {
        plan(shape: shape, mask: mask).map {
            blockwiseBackwardExtraBytes(shape: shape, plan: $0, threads: threads, kernel: kernel)
        } ?? 0
    }
}
