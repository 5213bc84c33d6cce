import Foundation

/// How much of a tile of (query, key) pairs a mask keeps.
public enum TileCoverage: Sendable, Equatable {
    /// No pair is attended: the tile is skipped without being computed.
    case empty
    /// Some pairs are attended: the element mask must be applied.
    case partial
    /// Every pair is attended: no element mask is needed.
    case full
}

/// A ``MaskPattern`` resolved against the lengths of a problem: the single
/// source of truth for which pairs are attended, used by the reference, the
/// strategies' tile planning and the FLOP counts.
///
/// Query row `i` sits at key position `p(i) = i + offset` with
/// `offset = keyLength − queryLength` (see ``MaskPattern``).
public struct AttentionMask: Sendable {
    public let pattern: MaskPattern
    public let queryLength: Int
    public let keyLength: Int
    public let offset: Int
    @usableFromInline let rule: Rule
    /// Attended (query, key) pairs of one head: useful FLOPs are
    /// `4 · B · H · d · attendedPairs`. Counted once when the mask is
    /// resolved: O(queryLength), times kept blocks per row for layouts.
    public private(set) var attendedPairs = 0

    @usableFromInline enum Rule: Sendable {
        case full
        case causal
        case window(left: Int, right: Int, global: Int)
        case blocks(BlockLayout)
    }

    /// Resolves `pattern` for a problem of these lengths; reads layout files.
    ///
    /// - Throws: ``AttentionError/invalidPattern(_:)`` when the pattern does
    ///   not fit the lengths, or a layout file error.
    public init(_ pattern: MaskPattern, queryLength: Int, keyLength: Int) throws {
        guard queryLength >= 1, keyLength >= 1 else {
            throw AttentionError.invalidShape("lengths must be at least 1, got \(queryLength)x\(keyLength)")
        }
        self.pattern = pattern
        self.queryLength = queryLength
        self.keyLength = keyLength
        self.offset = keyLength - queryLength
        switch pattern {
        case .full: rule = .full
        case .causal: rule = .causal
        case .window(let w):
            guard w.left >= 0, w.right >= 0, w.globalTokens >= 0 else {
                throw AttentionError.invalidPattern("window extents and global tokens must be ≥ 0 in '\(pattern)'")
            }
            // Extents beyond Nq + Nk change nothing; clamping keeps the position
            // arithmetic far from overflow for any extent a user can type.
            let reach = queryLength + keyLength
            rule = .window(left: min(w.left, reach), right: min(w.right, reach), global: min(w.globalTokens, reach))
        case .bigBird(let b):
            rule = .blocks(
                try BlockLayout.bigBird(
                    queryLength: queryLength, keyLength: keyLength, blockSize: b.blockSize,
                    windowBlocks: b.windowBlocks, globalBlocks: b.globalBlocks, randomBlocks: b.randomBlocks,
                    seed: b.seed, causal: b.causal))
        case .fixed(let f):
            rule = .blocks(
                try BlockLayout.fixed(
                    queryLength: queryLength, keyLength: keyLength, blockSize: f.blockSize, stride: f.stride,
                    causal: f.causal))
        case .layoutFile(let path, let causal):
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw AttentionError.invalidLayoutFile(
                    path: path, line: nil, reason: "cannot be read (\(error.localizedDescription))")
            }
            let layout = try BlockLayout.parse(text, path: path, causal: causal, lengths: (queryLength, keyLength))
            do { try layout.validate(queryLength: queryLength, keyLength: keyLength) } catch let
                AttentionError.invalidPattern(why)
            {
                throw AttentionError.invalidLayoutFile(path: path, line: nil, reason: why)
            }
            rule = .blocks(layout)
        case .layout(let layout):
            try layout.validate(queryLength: queryLength, keyLength: keyLength)
            rule = .blocks(layout)
        }
        attendedPairs = (0 ..< queryLength).reduce(0) { $0 + attendedKeyCount(ofRow: $1) }
    }

    /// Convenience: resolves `pattern` for `shape`'s lengths.
    public init(_ pattern: MaskPattern, shape: AttentionShape) throws {
        try self.init(pattern, queryLength: shape.queryLength, keyLength: shape.keyLength)
    }

    /// The window of a window pattern, with extents clamped to Nq + Nk.
    public var window: MaskPattern.Window? {
        if case .window(let left, let right, let global) = rule {
            return MaskPattern.Window(left: left, right: right, globalTokens: global)
        }
        return nil
    }

    /// The block layout, for block patterns.
    public var blockLayout: BlockLayout? {
        if case .blocks(let l) = rule { return l }
        return nil
    }

    /// Whether query `i` attends key `j`: the definition every strategy and the
    /// reference agree on.
    @inlinable public func isAttended(query i: Int, key j: Int) -> Bool {
        let p = i + offset
        switch rule {
        case .full: return true
        case .causal: return j <= p
        case .window(let left, let right, let global):
            let causalCap = right == 0 ? j <= p : true
            if j >= p - left && j <= p + right { return true }
            if (j < global || (p >= 0 && p < global)) && causalCap { return true }
            return false
        case .blocks(let l):
            if l.causal && j > p { return false }
            return l.contains(row: i / l.blockSize, column: j / l.blockSize)
        }
    }

    // MARK: Interval form

    /// The attended keys of row `i` as up to two half-open intervals, for the
    /// rules that have that form (all but block layouts).
    @inlinable func intervals(ofRow i: Int) -> (Range<Int>, Range<Int>) {
        let p = i + offset
        let n = keyLength
        @inline(__always) func clip(_ lo: Int, _ hi: Int) -> Range<Int> {
            let a = max(lo, 0), b = min(hi, n)
            return a < b ? a ..< b : 0 ..< 0
        }
        switch rule {
        case .full: return (0 ..< n, 0 ..< 0)
        case .causal: return (clip(0, p + 1), 0 ..< 0)
        case .window(let left, let right, let global):
            let cap = right == 0 ? p + 1 : n  // causal windows keep global pairs causal too
            if p >= 0 && p < global { return (clip(0, cap), 0 ..< 0) }
            return (clip(p - left, p + right + 1), clip(0, min(global, cap)))
        case .blocks:
            preconditionFailure("block layouts have no interval form")
        }
    }

    // MARK: Tiles

    /// How much of the tile `queries × keys` is attended.
    ///
    /// - Complexity: O(rows) for interval rules, O(rows + kept blocks) for layouts.
    public func coverage(queries: Range<Int>, keys: Range<Int>) -> TileCoverage {
        if queries.isEmpty || keys.isEmpty { return .empty }
        switch rule {
        case .full: return .full
        case .blocks(let l):
            let b = l.blockSize
            var any = false, all = true
            for r in (queries.lowerBound / b) ... ((queries.upperBound - 1) / b) {
                for c in (keys.lowerBound / b) ... ((keys.upperBound - 1) / b) {
                    if l.contains(row: r, column: c) { any = true } else { all = false }
                }
            }
            if !any { return .empty }
            if l.causal {
                // Rows whose position precedes some key of the tile are cut by the element mask.
                let firstPosition = queries.lowerBound + offset
                if firstPosition < keys.upperBound - 1 {
                    let lastPosition = queries.upperBound - 1 + offset
                    if lastPosition < keys.lowerBound { return .empty }
                    return .partial
                }
            }
            return all ? .full : .partial
        default:
            var any = false, all = true
            for i in queries {
                let (a, b) = intervals(ofRow: i)
                let overlap = unionCount(a.clamped(to: keys), b.clamped(to: keys))
                if overlap > 0 { any = true }
                if overlap < keys.count { all = false }
                if any && !all { return .partial }
            }
            return !any ? .empty : (all ? .full : .partial)
        }
    }

    /// Sets every score of the tile `queries × keys` whose pair is not
    /// attended to −∞. `scores` points at the tile's first element; the
    /// score of (query `queries.lowerBound + r`, key `keys.lowerBound + c`)
    /// is at `r · rowStride + c · columnStride`: `columnStride` 1 for a
    /// row-major tile, and `rowStride` 1 for a transposed one (keys × queries).
    ///
    /// - Complexity: O(rows · keys) writes at most.
    public func applyMask(
        queries: Range<Int>, keys: Range<Int>,
        scores: UnsafeMutablePointer<Float>, rowStride: Int, columnStride: Int = 1
    ) {
        let k0 = keys.lowerBound
        switch rule {
        case .full: return
        case .blocks(let l):
            let b = l.blockSize
            for (r, i) in queries.enumerated() {
                let row = scores + r * rowStride
                let limit = l.causal ? i + offset + 1 : Int.max
                var j = k0
                while j < keys.upperBound {
                    let blockEnd = min((j / b + 1) * b, keys.upperBound)
                    let masked =
                        l.contains(row: i / b, column: j / b)
                        ? max(j, min(limit, blockEnd)) ..< blockEnd : j ..< blockEnd
                    for jj in masked { row[(jj - k0) * columnStride] = -.infinity }
                    j = blockEnd
                }
            }
        default:
            for (r, i) in queries.enumerated() {
                let row = scores + r * rowStride
                var (a, b) = intervals(ofRow: i)
                if b.lowerBound < a.lowerBound || a.isEmpty { swap(&a, &b) }
                // Keys outside a ∪ b (a starts first) are masked. (The two
                // intervals are walked without an array: one per row would allocate.)
                var j = k0
                func skip(_ interval: Range<Int>) {
                    guard !interval.isEmpty else { return }
                    while j < min(interval.lowerBound, keys.upperBound) {
                        row[(j - k0) * columnStride] = -.infinity
                        j += 1
                    }
                    j = max(j, interval.upperBound)
                }
                skip(a)
                skip(b)
                while j < keys.upperBound {
                    row[(j - k0) * columnStride] = -.infinity
                    j += 1
                }
            }
        }
    }

    // MARK: Counting

    /// Attended keys of query row `i`.
    public func attendedKeyCount(ofRow i: Int) -> Int {
        switch rule {
        case .blocks(let l):
            let b = l.blockSize
            let limit = l.causal ? i + offset + 1 : keyLength
            var count = 0
            for c in l.keptBlocks(ofRow: i / b) {
                count += max(0, min((c + 1) * b, keyLength, limit) - c * b)
            }
            return count
        default:
            let (a, b) = intervals(ofRow: i)
            return unionCount(a, b)
        }
    }

    /// Keys that at least one query row attends: the rows of K and V an
    /// attention pass must read at least once (per key/value head). The
    /// roofline's minimum traffic counts these, so a window over a long
    /// cache is not charged for keys no row needs.
    ///
    /// - Complexity: O(Nq + Nk) time and O(Nk) memory (a difference array
    ///   of the attended intervals); O(kept blocks + Nk) for layouts.
    public func attendedKeyUnionCount() -> Int {
        if case .full = rule { return keyLength }
        var delta = [Int32](repeating: 0, count: keyLength + 1)
        func add(_ r: Range<Int>) {
            guard !r.isEmpty else { return }
            delta[r.lowerBound] += 1
            delta[r.upperBound] -= 1
        }
        switch rule {
        case .blocks(let l):
            let b = l.blockSize
            for block in 0 ..< l.queryBlocks {
                // The block's last row reaches furthest under a causal layout.
                let lastRow = min((block + 1) * b, queryLength) - 1
                let limit = l.causal ? lastRow + offset + 1 : keyLength
                for c in l.keptBlocks(ofRow: block) { add(c * b ..< max(c * b, min((c + 1) * b, keyLength, limit))) }
            }
        default:
            for i in 0 ..< queryLength {
                let (a, b) = intervals(ofRow: i)
                add(a)
                add(b)
            }
        }
        var count = 0, depth: Int32 = 0
        for j in 0 ..< keyLength {
            depth += delta[j]
            if depth > 0 { count += 1 }
        }
        return count
    }

    /// Attended pairs over all pairs.
    public var density: Double { Double(attendedPairs) / (Double(queryLength) * Double(keyLength)) }
}

/// The number of integers in `a ∪ b`.
@usableFromInline func unionCount(_ a: Range<Int>, _ b: Range<Int>) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    if a.overlaps(b) { return max(a.upperBound, b.upperBound) - min(a.lowerBound, b.lowerBound) }
    return a.count + b.count
}
