import Foundation

/// The judge: attention in float64 with plain loops, written to be obviously
/// correct rather than fast. Used only to verify strategies.
///
/// For each query row: `s_j = scale · Σ_k q_k·k_jk` over attended keys,
/// `m = max_j s_j`, `p_j = exp(s_j − m)`, `o = Σ_j p_j·v_j / Σ_j p_j`;
/// a row with no attended key is zero. Half-precision inputs are read
/// widened, exactly: the reference of a rounded problem.
///
/// - Complexity: O(B · H · Nq · Nk · d) time, O(Nk) extra memory.
public enum ReferenceAttention {
    /// The output rows `rows` of query head `(b, h)`, in float64, as
    /// `rows.count × d` row-major.
    public static func outputRows(
        _ inputs: AttentionInputs, mask: AttentionMask,
        batch b: Int, head h: Int, rows: some Sequence<Int>
    ) -> [Double] {
        let s = inputs.shape
        let d = s.headDim
        let qBase = s.queryOffset(batch: b, head: h), kBase = s.keyOffset(batch: b, head: h)
        let scale = Double(s.scale)
        var out: [Double] = []
        var scores = [Double](repeating: 0, count: s.keyLength)
        var attended = [Bool](repeating: false, count: s.keyLength)
        // One row at a time, widened from the tensors' precision (exact).
        var q = [Float](repeating: 0, count: d), kv = [Float](repeating: 0, count: d)
        for i in rows {
            inputs.query.read(d, at: qBase + i * d, into: &q)
            var m = -Double.infinity
            for j in 0 ..< s.keyLength {
                attended[j] = mask.isAttended(query: i, key: j)
                guard attended[j] else { continue }
                inputs.key.read(d, at: kBase + j * d, into: &kv)
                var dot = 0.0
                for c in 0 ..< d { dot += Double(q[c]) * Double(kv[c]) }
                scores[j] = scale * dot
                m = max(m, scores[j])
            }
            var row = [Double](repeating: 0, count: d)
            var sum = 0.0
            for j in 0 ..< s.keyLength where attended[j] {
                let p = Foundation.exp(scores[j] - m)
                sum += p
                inputs.value.read(d, at: kBase + j * d, into: &kv)
                for c in 0 ..< d { row[c] += p * Double(kv[c]) }
            }
            if sum > 0 { for c in 0 ..< d { row[c] /= sum } }
            out += row
        }
        return out
    }

    /// The whole output, `[B, H, Nq, d]` in float64.
    public static func forward(_ inputs: AttentionInputs, mask: AttentionMask) -> [Double] {
        let s = inputs.shape
        var out: [Double] = []
        out.reserveCapacity(s.queryElementCount)
        for b in 0 ..< s.batch {
            for h in 0 ..< s.heads {
                out += outputRows(inputs, mask: mask, batch: b, head: h, rows: 0 ..< s.queryLength)
            }
        }
        return out
    }
}
