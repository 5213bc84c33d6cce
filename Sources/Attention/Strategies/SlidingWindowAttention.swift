/// Sliding-window local attention (Longformer, Mistral): each block of query
/// rows visits only the band of keys its window reaches, plus the global
/// keys, so the work is O(Nq·(left + right + 1 + G)·d), never O(Nq·Nk).
///
/// Global query rows (positions `0 ≤ p(i) < G`) attend every key; the plan
/// puts them in query blocks of their own so the other blocks keep narrow
/// bands. Only window patterns are served: for full or causal attention use
/// `tiled` (a causal window is `window:LEFT:0`).
///
/// - Complexity: O(B·H·Nq·(L + R + Br + G)·d) time; one tile workspace per
///   worker.
public struct SlidingWindowAttention: AttentionStrategy {
    /// The tile set with `--tile`, or nil to fit the tile to the window.
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

    /// The tile used for `window`: the one given, or the kernel's query rows
    /// (``KernelDescriptor/slidingRows``) by the whole band they reach
    /// (rows + left + right keys, rounded up to 16, at most 1024), so a
    /// query block's band is one product. Measurements in docs/DECISIONS.md.
    public func tile(for window: MaskPattern.Window) -> TileSize {
        if let tile { return tile }
        return Self.bandTile(rows: KernelTable.descriptor(kernel).slidingRows, window: window)
    }

    /// `rows` query rows by the band they reach.
    static func bandTile(rows: Int, window: MaskPattern.Window) -> TileSize {
        let band = rows + min(window.left, 1 << 20) + min(window.right, 1 << 20)
        return TileSize(validRows: rows, columns: min(1024, max(64, (band + 15) / 16 * 16)))
    }

    public func execution(shape: AttentionShape, mask: AttentionMask) -> StrategyExecution {
        StrategyExecution(
            kernel: KernelTable.descriptor(kernel).name,
            tile: mask.window.map { fitted(tile(for: $0), to: shape) })
    }

    /// Query rows {32, 64, 96, 128}, each by the band it reaches.
    public func tuningCandidates(shape: AttentionShape, mask: AttentionMask) -> [TileSize] {
        guard let window = mask.window else { return [] }
        var seen = Set<TileSize>()
        return [32, 64, 96, 128].map { fitted(Self.bandTile(rows: $0, window: window), to: shape) }
            .filter { seen.insert($0).inserted }
    }

    /// Reads ``StrategyOptions/tile`` and ``StrategyOptions/kernel``.
    public init(options: StrategyOptions) { self.init(tile: options.tile, kernel: options.kernel) }

    public static let name = "sliding"
    public static let benchmarkPattern = MaskPattern.window(.init(left: 64, right: 64))

    public var summary: String {
        "visits only the window's band of keys (plus global tokens); "
            + (tile.map { "\($0) tiles" } ?? "tiles fitted to the band")
    }
    public var supportedKinds: Set<MaskPattern.Kind> { [.window] }

    struct Plan: KeyVisitPlan {
        let mask: AttentionMask
        let window: MaskPattern.Window
        let tile: TileSize
        let queryBlocks: [Range<Int>]
        /// Band ranges go through the transposed fold (the kernel's choice).
        let gathersKeys: Bool
        /// Query rows of one head per block: the tile's rows shared among
        /// the `groupSize` heads packed together.
        let maxRows: Int
        var maxColumns: Int { tile.columns }
        /// When a block's whole band is one key range: then each block's
        /// range starts after the previous block's, and a band that moves
        /// keeps what the next block needs. (A wider window visits its band
        /// in several ranges, and a move at the last one would leave the
        /// next block's first range behind.)
        var slidesAlongKeys: Bool {
            maxRows + min(window.left, 1 << 20) + min(window.right, 1 << 20) <= tile.columns
        }
        var visitsKeysBehindBand: Bool { window.globalTokens > 0 }

        init(mask: AttentionMask, window: MaskPattern.Window, tile: TileSize, kernel: KernelID, groupSize: Int) {
            self.mask = mask
            self.window = window
            self.tile = tile
            gathersKeys = KernelTable.descriptor(kernel).foldsTransposed
            let rows = packedBlockRows(tileRows: tile.rows, groupSize: groupSize)
            maxRows = rows
            // Rows i with 0 ≤ i + offset < G are global: give them blocks of their own.
            let nq = mask.queryLength
            let globalRows = max(0, min(-mask.offset, nq)) ..< max(0, min(window.globalTokens - mask.offset, nq))
            if globalRows.isEmpty {
                queryBlocks = blocks(of: 0 ..< nq, size: rows)
            } else {
                queryBlocks =
                    blocks(of: 0 ..< globalRows.lowerBound, size: rows)
                    + blocks(of: globalRows, size: rows)
                    + blocks(of: globalRows.upperBound ..< nq, size: rows)
            }
        }

        func visitKeys(of queries: Range<Int>, _ visit: (Range<Int>, Bool) -> Void) {
            let nk = mask.keyLength
            let firstPosition = queries.lowerBound + mask.offset
            let lastPosition = queries.upperBound - 1 + mask.offset
            let global = min(window.globalTokens, nk)
            if firstPosition < global && lastPosition >= 0 {
                // A global query block: every key (the mask trims causal windows).
                visitChunks(of: 0 ..< nk, width: tile.columns, queries: queries, mask: mask, visit)
                return
            }
            let bandStart = max(0, firstPosition - window.left)
            let band = bandStart ..< max(bandStart, min(nk, lastPosition + window.right + 1))
            // The global keys and the band, as disjoint ascending ranges (no
            // array: one per query block would allocate).
            if global > 0 && !band.isEmpty && band.lowerBound <= global {
                visitChunks(
                    of: 0 ..< max(global, band.upperBound), width: tile.columns, queries: queries, mask: mask, visit)
                return
            }
            if global > 0 { visitChunks(of: 0 ..< global, width: tile.columns, queries: queries, mask: mask, visit) }
            if !band.isEmpty { visitChunks(of: band, width: tile.columns, queries: queries, mask: mask, visit) }
        }
    }

    public func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int, precision: Precision)
        -> Int
    {
        guard let plan = plan(shape: shape, mask: mask) else { return 0 }
        return blockwiseExtraBytes(shape: shape, plan: plan, threads: threads, kernel: kernel, precision: precision)
    }

    /// The plan for a window mask (nil for any other).
    func plan(shape: AttentionShape, mask: AttentionMask) -> Plan? {
        guard let window = mask.window else { return nil }
        return Plan(
            mask: mask, window: window, tile: fitted(tile(for: window), to: shape), kernel: kernel,
            groupSize: shape.groupSize)
    }

    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int) throws {
        try validate(inputs, mask: mask, output: output, threads: threads)
        guard let plan = plan(shape: inputs.shape, mask: mask) else {
            preconditionFailure("validate() admits only window patterns")
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
