import Attention
import Foundation
import NumpyFormat

/// Q, K and V from NumPy `.npy` files, laid out `[B, heads, N, d]` (K and V
/// may have fewer heads than Q, and their own length), and the output back
/// to `.npy`: for benchmarking on tensors captured from a real model and
/// checking results against PyTorch.
public enum TensorFiles {
    public struct InputError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads the three files (float32, float64, float16 or bfloat16, see
    /// ``NumpyFile``), derives the shape from them and stores the tensors in
    /// `precision`, rounding each value to nearest even (exact when the
    /// file holds that precision already).
    public static func load(
        query: String, key: String, value: String, scale: Float? = nil, precision: Precision = .f32
    ) throws -> AttentionInputs {
        let q = try NumpyFile.read(path: query)
        let k = try NumpyFile.read(path: key)
        let v = try NumpyFile.read(path: value)
        for (path, a) in [(query, q), (key, k), (value, v)]
        where a.shape.count != 4 || a.shape.contains(where: { $0 < 1 }) {
            throw InputError(
                description:
                    "\(path): shape \(a.shape) must be 4-D [batch, heads, length, head_dim] with every extent ≥ 1")
        }
        guard k.shape == v.shape else {
            throw InputError(
                description: "\(value): shape \(v.shape) differs from \(key)'s \(k.shape); K and V must match")
        }
        guard k.shape[0] == q.shape[0] else {
            throw InputError(description: "\(key): batch \(k.shape[0]) differs from \(query)'s \(q.shape[0])")
        }
        guard k.shape[3] == q.shape[3] else {
            throw InputError(description: "\(key): head_dim \(k.shape[3]) differs from \(query)'s \(q.shape[3])")
        }
        guard q.shape[1] % k.shape[1] == 0 else {
            throw InputError(description: "\(key): \(k.shape[1]) heads do not divide \(query)'s \(q.shape[1]) heads")
        }
        // Non-finite inputs are refused here, so that every strategy sees the
        // same contract (finite Q, K, V) instead of each propagating NaN its own way.
        for (path, a) in [(query, q), (key, k), (value, v)] {
            if let i = a.values.firstIndex(where: { !$0.isFinite }) {
                let s = a.shape, d = s[3], n = s[2], h = s[1]
                let at = "[\(i / (h * n * d)), \(i / (n * d) % h), \(i / d % n), \(i % d)]"
                throw InputError(
                    description:
                        "\(path): element \(at) is \(a.values[i].isNaN ? "NaN" : "infinite (or beyond float32's range)"); attention inputs must be finite"
                )
            }
        }
        let shape = try AttentionShape(
            batch: q.shape[0], heads: q.shape[1], kvHeads: k.shape[1],
            queryLength: q.shape[2], keyLength: k.shape[2], headDim: q.shape[3], scale: scale)
        return try AttentionInputs(
            shape: shape, query: Tensor(q.values, precision: precision), key: Tensor(k.values, precision: precision),
            value: Tensor(v.values, precision: precision))
    }

    /// Writes `output` as a `[B, H, Nq, d]` `.npy` file in its precision:
    /// `<f4` for f32, `<f2` for f16; bf16, which NumPy has no type for,
    /// as `<f4` holding the bf16 values exactly.
    public static func save(_ output: Tensor, shape: AttentionShape, to path: String) throws {
        let dims = [shape.batch, shape.heads, shape.queryLength, shape.headDim]
        switch output.precision {
        case .f16:
            try NumpyFile.write(
                UnsafeBufferPointer(start: output.elements(Float16.self), count: output.count), shape: dims, to: path)
        case .f32:
            try NumpyFile.write(UnsafeBufferPointer(start: output.floats, count: output.count), shape: dims, to: path)
        case .bf16:
            try NumpyFile.write(output.toArray(), shape: dims, to: path)
        }
    }
}
