/// A dense float32 array in C (row-major) order, as read from or written to a
/// NumPy `.npy` file.
///
/// `values.count` is the product of `shape`; the empty shape `()` is a scalar
/// holding one value, and any zero extent gives an array with no values.
public struct NumpyArray: Sendable, Equatable {
    /// Extents, outermost first. `[]` is a 0-d (scalar) array.
    public let shape: [Int]
    /// The elements in C order: the last index varies fastest.
    public let values: [Float]

    /// Precondition: every extent is non-negative and their product equals
    /// `values.count`.
    public init(shape: [Int], values: [Float]) {
        precondition(
            NumpyShape.elementCount(shape) == values.count,
            "shape \(NumpyShape.text(shape)) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// Number of elements, the product of `shape` (1 for a scalar).
    public var count: Int { values.count }
}
