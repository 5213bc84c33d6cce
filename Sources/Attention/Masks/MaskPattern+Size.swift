import Foundation

extension MaskPattern {
    /// An upper bound on the bytes resolving this pattern against the lengths
    /// allocates (the block layout of a block pattern; nothing for the
    /// others), computed without building anything.
    ///
    /// Why: a layout grows with the number of kept blocks, up to
    /// (Nq/B)·(Nk/B); callers check this against their memory budget before
    /// ``AttentionMask/init(_:queryLength:keyLength:)`` builds a layout that
    /// could not fit (or would take minutes to build first).
    ///
    /// The bounds, per query block: BigBird keeps at most window + 2 (a
    /// diagonal spanning two blocks) + global + random blocks, and its global
    /// query blocks keep every block; "fixed" keeps at most two chunks of
    /// `stride` blocks and one summary per earlier chunk; a layout file keeps
    /// at most one block per byte of the file.
    ///
    /// - Complexity: O(1) (a layout file: one `stat`).
    public func predictedResolvedBytes(queryLength: Int, keyLength: Int) -> Int {
        func blocks(_ b: Int) -> (q: Int, k: Int) {
            (
                BlockLayout.blockCount(queryLength, blockSize: max(b, 1)),
                BlockLayout.blockCount(keyLength, blockSize: max(b, 1))
            )
        }
        func clampedProduct(_ a: Int, _ b: Int) -> Int {
            let (p, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? Int.max : p
        }
        switch self {
        case .full, .causal, .window: return 0
        case .bigBird(let g):
            let (q, k) = blocks(g.blockSize)
            let perRow = min(k, g.windowBlocks + 2 + g.globalBlocks + g.randomBlocks)
            // Query blocks whose diagonal meets the first `globalBlocks` key blocks.
            let globalRows = min(q, clampedProduct(g.globalBlocks + 1, q / max(k, 1) + 1))
            let kept = clampedProduct(q, perRow).addingReportingOverflow(clampedProduct(globalRows, k))
            return BlockLayout.bytesWhileBuilding(
                keptBlocks: kept.overflow ? Int.max : kept.partialValue, queryBlocks: q)
        case .fixed(let f):
            let (q, k) = blocks(f.blockSize)
            let perRow = min(k, 2 * f.stride + k / max(f.stride, 1) + 1)
            return BlockLayout.bytesWhileBuilding(keptBlocks: clampedProduct(q, perRow), queryBlocks: q)
        case .layoutFile(let path, _):
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            // The text, its bytes, and a layout of at most one block per byte.
            return clampedProduct(bytes, 3).addingReportingOverflow(
                BlockLayout.bytesWhileBuilding(keptBlocks: bytes, queryBlocks: 0)
            ).partialValue
        case .layout: return 0
        }
    }
}
