/// Which key ranges each query block visits: the only thing in which the
/// tiled, sliding-window and block-sparse strategies differ. The step done on
/// each visit is ``OnlineSoftmaxTile``'s; ``runBlockwiseAttention`` drives both.
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
    /// Whether consecutive query blocks of a head visit mostly the same keys,
    /// ascending (a sliding band), so half-precision rows widened for one
    /// block serve the next (``WidenedBand``).
    var slidesAlongKeys: Bool { get }
    /// Whether some visited ranges lie before the band a block slides along
    /// (a window's global keys), widened for each block on their own.
    var visitsKeysBehindBand: Bool { get }
}

extension KeyVisitPlan {
    var gathersKeys: Bool { false }
    var slidesAlongKeys: Bool { false }
    var visitsKeysBehindBand: Bool { false }

    /// Cuts `range` into consecutive pieces of at most `width`, classifies each
    /// against `mask`, and visits the non-empty ones.
    func visitChunks(
        of range: Range<Int>, width: Int, queries: Range<Int>, mask: AttentionMask,
        _ visit: (_ keys: Range<Int>, _ partial: Bool) -> Void
    ) {
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
