/// What a forward pass keeps for the backward (FlashAttention-2's saved
/// tensors): the output O (`[B, H, Nq, d]`, in the inputs' precision) and
/// the row log-sum-exp `L = m + log ℓ` of the scaled scores (`[B, H, Nq]`
/// float32, natural log), so that `P = exp(scale·Q·Kᵀ − L)` can be
/// recomputed tile by tile. A row with no attended key has `L = −∞`.
///
/// - Complexity: B·H·Nq·(d + 1) elements, against B·H·Nq·Nk for P.
public struct SavedForward: Sendable {
    public let output: Tensor
    public let logSumExp: Tensor

    public init(output: Tensor, logSumExp: Tensor) {
        self.output = output
        self.logSumExp = logSumExp
    }

    /// Zeroed tensors for a forward pass of `shape` in `precision`.
    public init(shape: AttentionShape, precision: Precision = .f32) {
        output = Tensor(count: shape.queryElementCount, precision: precision)
        logSumExp = Tensor(count: shape.batch * shape.heads * shape.queryLength)
    }
}

/// The gradients of the loss with respect to Q, K and V, float32, sized
/// like them: dQ `[B, H, Nq, d]`, dK and dV `[B, Hkv, Nk, d]` (a key/value
/// head's gradient sums over the query heads that read it).
public struct AttentionGradients: Sendable {
    public let query: Tensor
    public let key: Tensor
    public let value: Tensor

    /// Gradients held elsewhere (a peer's, read back), float32 and sized as above.
    public init(query: Tensor, key: Tensor, value: Tensor) {
        precondition(
            [query, key, value].allSatisfy { $0.precision == .f32 } && key.count == value.count,
            "gradients are float32, dK and dV of one size")
        self.query = query
        self.key = key
        self.value = value
    }

    /// Zeroed gradients for `shape`.
    public init(shape: AttentionShape) {
        query = Tensor(count: shape.queryElementCount)
        key = Tensor(count: shape.keyElementCount)
        value = Tensor(count: shape.keyElementCount)
    }

    /// A standard normal output gradient dO (`[B, H, Nq, d]`, float32) from
    /// stream 3 of ``NormalGenerator`` with `seed`: Q, K and V take streams
    /// 0-2 (``AttentionInputs/random(shape:seed:precision:)``), so one seed
    /// is one problem with its gradient.
    public static func randomOutputGradient(shape: AttentionShape, seed: UInt64) -> Tensor {
        let t = Tensor(count: shape.queryElementCount, zeroed: false)
        var g = NormalGenerator(seed: seed, stream: 3)
        g.fill(UnsafeMutableBufferPointer(start: t.floats, count: t.count))
        return t
    }

    /// Bytes of the three: the size of Q, K and V in float32.
    public static func bytes(_ shape: AttentionShape) -> Int {
        (shape.queryElementCount + 2 * shape.keyElementCount) * MemoryLayout<Float>.stride
    }
}
