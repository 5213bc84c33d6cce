/// The tensors of one attention problem: Q, K, V and a caller-owned output O,
/// each `[batch, heads, length, headDim]` row-major (see ``AttentionShape``),
/// all stored in one ``Precision``.
public struct AttentionInputs: Sendable {
    public let shape: AttentionShape
    public let query: Tensor
    public let key: Tensor
    public let value: Tensor

    /// The storage of Q, K, V (and of the output a strategy writes).
    public var precision: Precision { query.precision }

    /// Wraps existing tensors, checking their sizes against the shape and
    /// that they share one precision.
    public init(shape: AttentionShape, query: Tensor, key: Tensor, value: Tensor) throws {
        try shape.validate()
        guard query.count == shape.queryElementCount else {
            throw AttentionError.bufferSizeMismatch(
                "Q has \(query.count) elements, \(shape) needs \(shape.queryElementCount)")
        }
        for (name, t) in [("K", key), ("V", value)] where t.count != shape.keyElementCount {
            throw AttentionError.bufferSizeMismatch(
                "\(name) has \(t.count) elements, \(shape) needs \(shape.keyElementCount)")
        }
        guard key.precision == query.precision, value.precision == query.precision else {
            throw AttentionError.bufferSizeMismatch(
                "Q, K and V must share one precision, got \(query.precision), \(key.precision), \(value.precision)")
        }
        self.init(validShape: shape, query: query, key: key, value: value)
    }

    /// Tensors this file sized from `shape` itself.
    private init(validShape shape: AttentionShape, query: Tensor, key: Tensor, value: Tensor) {
        self.shape = shape
        self.query = query
        self.key = key
        self.value = value
    }

    /// Standard normal Q, K and V drawn from ``NormalGenerator`` seeded with
    /// `seed`, then rounded to `precision` (nearest even): Q from stream 0,
    /// K from stream 1, V from stream 2, so changing the key length does not
    /// change Q, and one seed is one problem at every precision.
    public static func random(shape: AttentionShape, seed: UInt64, precision: Precision = .f32) -> AttentionInputs {
        let tensors = [shape.queryElementCount, shape.keyElementCount, shape.keyElementCount].enumerated().map {
            stream, count in
            let t = Tensor(count: count, precision: precision, zeroed: false)
            var g = NormalGenerator(seed: seed, stream: UInt64(stream))
            if precision == .f32 {
                g.fill(UnsafeMutableBufferPointer(start: t.floats, count: count))
            } else {
                // Drawn in chunks, so a half tensor never has a float32 copy.
                t.forEachChunk { range, scratch in
                    g.fill(UnsafeMutableBufferPointer(start: scratch, count: range.count))
                    t.write(from: scratch, count: range.count, at: range.lowerBound)
                }
            }
            return t
        }
        return AttentionInputs(validShape: shape, query: tensors[0], key: tensors[1], value: tensors[2])
    }

    /// The same problem stored in `precision`: every element rounded.
    public func converted(to precision: Precision) -> AttentionInputs {
        guard precision != self.precision else { return self }
        func convert(_ t: Tensor) -> Tensor {
            let out = Tensor(count: t.count, precision: precision, zeroed: false)
            t.forEachChunk { range, scratch in
                t.read(range.count, at: range.lowerBound, into: scratch)
                out.write(from: scratch, count: range.count, at: range.lowerBound)
            }
            return out
        }
        return AttentionInputs(validShape: shape, query: convert(query), key: convert(key), value: convert(value))
    }

    /// A zeroed output tensor of the right size and precision.
    public func makeOutput() -> Tensor { Tensor(count: shape.queryElementCount, precision: precision) }
}
