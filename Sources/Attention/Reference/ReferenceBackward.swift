import Foundation

/// The judge of the backward pass: the gradients of attention in float64
/// with plain loops, from the inputs alone (it recomputes the forward).
///
/// For the loss `ℓ = Σ dO ∘ O`, per query row `i` of head `(b, h)` with
/// attended keys `j`:
///
///     p_j   = softmax_j(scale · q·k_j)            o = Σ_j p_j·v_j
///     D     = Σ_c dO_c·o_c                        (rowsum(dO ∘ O))
///     dS_j  = p_j · (dO·v_j − D)
///     dq    = scale · Σ_j dS_j·k_j
///     dk_j += scale · dS_j·q                      dv_j += p_j·dO
///
/// A masked pair contributes nothing, and a row with no attended key has
/// zero gradients. With grouped heads, dK and dV of a key/value head sum
/// over the query heads that read it.
///
/// - Complexity: O(B · H · Nq · Nk · d) time, O(Nk) extra memory beside the
///   gradients.
extension ReferenceAttention {
    /// dQ (`[B, H, Nq, d]`), dK and dV (`[B, Hkv, Nk, d]`) in float64 for
    /// the output gradient `outputGradient` (`[B, H, Nq, d]`, float32).
    ///
    /// With `heads` (query heads as (batch, head)) and `rows`, only those
    /// rows' contributions are computed: their dQ rows are exact (zeros
    /// elsewhere), and dK and dV are exact for a key/value head when every
    /// row of every query head that reads it was selected.
    public static func backward(
        _ inputs: AttentionInputs, mask: AttentionMask, outputGradient dO: Tensor, heads: [(Int, Int)]? = nil,
        rows: [Int]? = nil
    ) -> (query: [Double], key: [Double], value: [Double]) {
        let s = inputs.shape
        let d = s.headDim, nk = s.keyLength
        let scale = Double(s.scale)
        var dQ = [Double](repeating: 0, count: s.queryElementCount)
        var dK = [Double](repeating: 0, count: s.keyElementCount)
        var dV = [Double](repeating: 0, count: s.keyElementCount)
        var p = [Double](repeating: 0, count: nk)
        var attended = [Bool](repeating: false, count: nk)
        var q = [Float](repeating: 0, count: d), g = [Float](repeating: 0, count: d)
        var kv = [Float](repeating: 0, count: d)
        let all = (0 ..< s.batch).flatMap { b in (0 ..< s.heads).map { (b, $0) } }
        for (b, h) in heads ?? all {
            let qBase = s.queryOffset(batch: b, head: h), kBase = s.keyOffset(batch: b, head: h)
            for i in rows ?? Array(0 ..< s.queryLength) {
                inputs.query.read(d, at: qBase + i * d, into: &q)
                dO.read(d, at: qBase + i * d, into: &g)
                // The softmax row, as the forward computes it.
                var m = -Double.infinity
                for j in 0 ..< nk {
                    attended[j] = mask.isAttended(query: i, key: j)
                    guard attended[j] else { continue }
                    inputs.key.read(d, at: kBase + j * d, into: &kv)
                    var dot = 0.0
                    for c in 0 ..< d { dot += Double(q[c]) * Double(kv[c]) }
                    p[j] = scale * dot
                    m = max(m, p[j])
                }
                guard m > -.infinity else { continue }  // no key: zero gradients
                var sum = 0.0
                for j in 0 ..< nk where attended[j] {
                    p[j] = Foundation.exp(p[j] - m)
                    sum += p[j]
                }
                // D = dO · o with o = Σ p_j v_j, and dP_j = dO · v_j.
                var dP = [Double](repeating: 0, count: nk)
                var D = 0.0
                for j in 0 ..< nk where attended[j] {
                    p[j] /= sum
                    inputs.value.read(d, at: kBase + j * d, into: &kv)
                    var dot = 0.0
                    for c in 0 ..< d { dot += Double(g[c]) * Double(kv[c]) }
                    dP[j] = dot
                    D += p[j] * dot
                    for c in 0 ..< d { dV[kBase + j * d + c] += p[j] * Double(g[c]) }
                }
                for j in 0 ..< nk where attended[j] {
                    let dS = scale * p[j] * (dP[j] - D)
                    inputs.key.read(d, at: kBase + j * d, into: &kv)
                    for c in 0 ..< d {
                        dQ[qBase + i * d + c] += dS * Double(kv[c])
                        dK[kBase + j * d + c] += dS * Double(q[c])
                    }
                }
            }
        }
        return (dQ, dK, dV)
    }
}
