/// The tensors of one attention problem: Q, K, V and a caller-owned output O,
/// each `[batch, heads, length, headDim]` row-major (see ``AttentionShape``).
public struct AttentionInputs: Sendable {
    public let shape: AttentionShape
    public let query: AlignedBuffer
    public let key: AlignedBuffer
    public let value: AlignedBuffer

    /// Wraps existing buffers, checking their sizes against the shape.
    public init(shape: AttentionShape, query: AlignedBuffer, key: AlignedBuffer, value: AlignedBuffer) throws {
        try shape.validate()
        guard query.count == shape.queryElementCount else {
            throw AttentionError.bufferSizeMismatch(
                "Q has \(query.count) elements, \(shape) needs \(shape.queryElementCount)")
        }
        for (name, t) in [("K", key), ("V", value)] where t.count != shape.keyElementCount {
            throw AttentionError.bufferSizeMismatch(
                "\(name) has \(t.count) elements, \(shape) needs \(shape.keyElementCount)")
        }
        self.init(validShape: shape, query: query, key: key, value: value)
    }

    /// Buffers this file sized from `shape` itself.
    private init(validShape shape: AttentionShape, query: AlignedBuffer, key: AlignedBuffer, value: AlignedBuffer) {
        self.shape = shape
        self.query = query
        self.key = key
        self.value = value
    }

    /// Standard normal Q, K and V drawn from ``NormalGenerator`` seeded with
    /// `seed`: Q from stream 0, K from stream 1, V from stream 2, so changing
    /// the key length does not change Q.
    public static func random(shape: AttentionShape, seed: UInt64) -> AttentionInputs {
        let q = AlignedBuffer(count: shape.queryElementCount)
        let k = AlignedBuffer(count: shape.keyElementCount)
        let v = AlignedBuffer(count: shape.keyElementCount)
        for (stream, t) in [q, k, v].enumerated() {
            var g = NormalGenerator(seed: seed, stream: UInt64(stream))
            g.fill(t.buffer)
        }
        return AttentionInputs(validShape: shape, query: q, key: k, value: v)
    }

    /// A zeroed output buffer of the right size.
    public func makeOutput() -> AlignedBuffer { AlignedBuffer(count: shape.queryElementCount) }
}
