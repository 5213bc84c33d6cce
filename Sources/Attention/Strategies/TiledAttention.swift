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
    /// The default tile, chosen by measurement (see the tiled issue's note).
    public static let defaultTile = try! TileSize(rows: 256, columns: 512)

    public let tile: TileSize
    /// Tile workspaces kept between calls (see ``WorkspacePool``).
    let workspaces = WorkspacePool()

    public init(tile: TileSize? = nil) { self.tile = tile ?? Self.defaultTile }

    public var name: String { "tiled" }
    public var summary: String { "online softmax over \(tile) tiles (FlashAttention-2), skips masked tiles" }
    public var supportedKinds: Set<MaskPattern.Kind> { Set(MaskPattern.Kind.allCases) }

    struct Plan: KeyVisitPlan {
        let mask: AttentionMask
        let tile: TileSize
        let queryBlocks: [Range<Int>]
        var maxRows: Int { tile.rows }
        var maxColumns: Int { tile.columns }

        init(mask: AttentionMask, tile: TileSize) {
            self.mask = mask
            self.tile = tile
            queryBlocks = blocks(of: 0 ..< mask.queryLength, size: tile.rows)
        }

        func visitKeys(of queries: Range<Int>, _ visit: (Range<Int>, Bool) -> Void) {
            visitChunks(of: 0 ..< mask.keyLength, width: tile.columns, queries: queries, mask: mask, visit)
        }
    }

    public func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int) -> Int {
        let tile = fitted(self.tile, to: shape)
        let units = shape.batch * shape.heads * BlockLayout.blockCount(shape.queryLength, blockSize: tile.rows)
        return tiledExtraBytes(shape: shape, units: units, threads: threads,
                               maxRows: tile.rows, maxColumns: tile.columns)
    }

    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: AlignedBuffer, threads: Int) throws {
        try validate(inputs, mask: mask, output: output, threads: threads)
        runTiledAttention(inputs, mask: mask, output: output, threads: threads,
                          plan: Plan(mask: mask, tile: fitted(tile, to: inputs.shape)),
                          workspaces: workspaces)
    }
}
