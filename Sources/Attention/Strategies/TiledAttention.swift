/// FlashAttention-2's forward pass on the CPU: each block of `Br` query rows
/// streams the keys in tiles of `Bc` through ``OnlineSoftmaxTile``, so no
/// Nq×Nk matrix exists. Key tiles the mask leaves empty are skipped without
/// being computed (causal does about half the work, a window only the tiles
/// along its band, a block layout only tiles touching its blocks); the
/// element mask is applied only on partly masked tiles.
///
/// - Complexity: O(B·H·(attended tiles)·Br·Bc·d) time; one Br×Bc score tile
///   and one Br×d accumulator per worker.
public struct TiledAttention: AttentionStrategy {
    /// The tile kernel of both products.
    public let kernel: KernelID
    public var tileKernel: KernelID? { kernel }
    /// Query rows × key columns; by default the kernel's (``KernelDescriptor/tiledTile``).
    public let tile: TileSize
    /// Tile workspaces kept between calls (see ``WorkspacePool``).
    let workspaces = WorkspacePool()

    public init(tile: TileSize? = nil, kernel: KernelID? = nil) {
        self.kernel = kernel ?? KernelTable.defaultKernel
        self.tile = tile ?? KernelTable.descriptor(self.kernel).tiledTile
    }

    /// Reads ``StrategyOptions/tile`` and ``StrategyOptions/kernel``.
    public init(options: StrategyOptions) { self.init(tile: options.tile, kernel: options.kernel) }

    public static let name = "tiled"
    public static let benchmarkPattern = MaskPattern.causal

    public var summary: String { "online softmax over \(tile) tiles (FlashAttention-2), skips masked tiles" }

    public func execution(shape: AttentionShape, mask: AttentionMask) -> StrategyExecution {
        StrategyExecution(kernel: KernelTable.descriptor(kernel).name, tile: fitted(tile, to: shape))
    }

    /// Query rows {64, 96, 128, 192, 256} × key columns {256, 512, 1024}, cut
    /// to the problem (duplicates dropped).
    public func tuningCandidates(shape: AttentionShape, mask: AttentionMask) -> [TileSize] {
        var seen = Set<TileSize>()
        return [64, 96, 128, 192, 256].flatMap { r in
            [256, 512, 1024].map { c in fitted(TileSize(validRows: r, columns: c), to: shape) }
        }
        .filter { seen.insert($0).inserted }
    }
    public var supportedKinds: Set<MaskPattern.Kind> { Set(MaskPattern.Kind.allCases) }

    struct Plan: KeyVisitPlan {
        let mask: AttentionMask
        let tile: TileSize
        let queryBlocks: [Range<Int>]
        /// Key tiles go through the transposed fold (the kernel's choice).
        let gathersKeys: Bool
        /// Query rows of one head per block: the tile's rows shared among
        /// the `groupSize` heads packed together.
        let maxRows: Int
        var maxColumns: Int { tile.columns }

        init(mask: AttentionMask, tile: TileSize, kernel: KernelID, groupSize: Int) {
            self.mask = mask
            self.tile = tile
            gathersKeys = KernelTable.descriptor(kernel).foldsTransposed
            maxRows = packedBlockRows(tileRows: tile.rows, groupSize: groupSize)
            queryBlocks = blocks(of: 0 ..< mask.queryLength, size: maxRows)
        }

        func visitKeys(of queries: Range<Int>, _ visit: (Range<Int>, Bool) -> Void) {
            visitChunks(of: 0 ..< mask.keyLength, width: tile.columns, queries: queries, mask: mask, visit)
        }
    }

    public func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int, precision: Precision)
        -> Int
    {
        blockwiseExtraBytes(
            shape: shape, plan: plan(shape: shape, mask: mask), threads: threads, kernel: kernel, precision: precision)
    }

    func plan(shape: AttentionShape, mask: AttentionMask) -> Plan {
        Plan(mask: mask, tile: fitted(tile, to: shape), kernel: kernel, groupSize: shape.groupSize)
    }

    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int) throws {
        try validate(inputs, mask: mask, output: output, threads: threads)
        try KernelTable.require(kernel)
        runBlockwiseAttention(
            inputs, mask: mask, output: output, threads: threads,
            plan: plan(shape: inputs.shape, mask: mask), kernel: kernel,
            workspaces: workspaces)
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
        blockwiseBackwardExtraBytes(
            shape: shape, plan: plan(shape: shape, mask: mask), threads: threads, kernel: kernel)
    }
}
