import Foundation

/// Split-KV (flash-decoding): the keys one query block visits, cut into
/// `count` consecutive pieces that different workers fold in at once.
///
/// Why: a decode step has few work units (one query block per key/value
/// head), often fewer than the workers, and each unit streams the whole KV
/// cache. Splitting the keys gives every worker a share of that stream.
///
/// Each piece leaves an unnormalized partial state per query row, the
/// accumulator `acc_s`, the maximum `m_s` (base 2) and the sum `l_s`, and
/// ``merge(partials:pieceStride:rows:headDim:into:groupStride:perGroup:)``
/// combines them with a log-sum-exp:
///
///     m = max_s m_s,  w_s = 2^(m_s − m),  l = Σ_s w_s·l_s,  O = Σ_s w_s·acc_s / l
///
/// which is exactly what one worker folding all the keys would have computed
/// (up to rounding). A piece that attended nothing has m_s = −∞ and weighs 0.
struct KeySplit {
    /// Pieces per query block; 1 means no split.
    let count: Int

    /// How many pieces: 1 when the units keep every worker busy (at least
    /// four per worker, or a multiple of the workers); otherwise the fewest
    /// that make units × pieces a multiple of the workers, so every worker
    /// gets the same share, but no piece shorter than one key tile
    /// (`maxColumns`), where the merge would cost more than it saves.
    init(units: Int, threads: Int, keyLength: Int, maxColumns: Int) {
        guard threads > 1, units < 4 * threads, units % threads != 0 else {
            count = 1
            return
        }
        let balanced = threads / gcd(units, threads)
        count = max(1, min(balanced, keyLength / max(1, maxColumns)))
    }

    init(count: Int) { self.count = max(1, count) }

    /// Floats of one piece's partial state for a block of `rows` rows:
    /// `acc` (rows × headDim), then `m` and `l` (rows each).
    static func stateFloats(rows: Int, headDim: Int) -> Int { rows * (headDim + 2) }

    /// Visits the keys of piece `piece` of the ranges `plan` visits for
    /// `queries`: the ranges' keys are numbered in visiting order, and piece
    /// `s` of `S` gets numbers `⌊s·T/S⌋ ..< ⌊(s+1)·T/S⌋` of the `T` in all,
    /// cut out of the ranges with their `partial` flags (a piece of a fully
    /// attended range is fully attended; a piece of a partial one is treated
    /// as partial, which the element mask makes exact).
    ///
    /// - Complexity: two passes over the plan's visits when split.
    func visitKeys<Plan: KeyVisitPlan>(
        of queries: Range<Int>, piece: Int, plan: Plan, _ visit: (_ keys: Range<Int>, _ partial: Bool) -> Void
    ) {
        guard count > 1 else {
            plan.visitKeys(of: queries, visit)
            return
        }
        var total = 0
        plan.visitKeys(of: queries) { keys, _ in total += keys.count }
        let low = total * piece / count, high = total * (piece + 1) / count
        guard low < high else { return }
        var position = 0
        plan.visitKeys(of: queries) { keys, partial in
            let a = max(low, position), b = min(high, position + keys.count)
            if a < b { visit(keys.lowerBound + (a - position) ..< keys.lowerBound + (b - position), partial) }
            position += keys.count
        }
    }

    /// Merges the `count` partial states at `partials` (`pieceStride` floats
    /// apart, each laid out as ``stateFloats(rows:headDim:)``) of a block of `rows` rows into
    /// normalized output rows, rounded to `E`: row `r = g·perGroup + i` goes to
    /// `output + g·groupStride + i·headDim`. Rows no piece attended get zeros.
    /// The first piece's accumulator is overwritten with the merged row.
    func merge<E: StorageElement>(
        partials: UnsafeMutablePointer<Float>, pieceStride stride: Int, rows: Int, headDim d: Int,
        into output: UnsafeMutablePointer<E>, groupStride: Int, perGroup: Int
    ) {
        @inline(__always) func maximum(_ s: Int, _ r: Int) -> Float { partials[s * stride + rows * d + r] }
        @inline(__always) func sum(_ s: Int, _ r: Int) -> Float { partials[s * stride + rows * d + rows + r] }
        for r in 0 ..< rows {
            var m = -Float.infinity
            for s in 0 ..< count { m = max(m, maximum(s, r)) }
            // −∞ (nothing attended anywhere) shifts by the lowest float: every weight is then 0.
            let shift = max(m, -.greatestFiniteMagnitude)
            var l: Float = 0
            for s in 0 ..< count { l += exp2(maximum(s, r) - shift) * sum(s, r) }
            let merged = partials + r * d
            let first: Float = l > 0 ? exp2(maximum(0, r) - shift) / l : 0
            for c in 0 ..< d { merged[c] = first > 0 ? first * merged[c] : 0 }
            if l > 0 {
                for s in 1 ..< max(1, count) {
                    let w = exp2(maximum(s, r) - shift) / l
                    guard w > 0 else { continue }
                    let src = partials + s * stride + r * d
                    for c in 0 ..< d { merged[c] += w * src[c] }
                }
            }
            let (g, i) = r.quotientAndRemainder(dividingBy: perGroup)
            E.narrow(merged, into: output + g * groupStride + i * d, count: d)
        }
    }
}

/// The greatest common divisor of two positive integers.
func gcd(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}
