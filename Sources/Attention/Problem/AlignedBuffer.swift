/// A fixed-size, 64-byte aligned, zero-initialized float32 buffer that owns
/// its memory: the storage for Q, K, V, O and the strategies' workspaces.
///
/// 64-byte alignment keeps every `SIMD16<Float>` load of a row that starts at
/// a multiple of 16 elements on one cache line.
public final class AlignedBuffer: @unchecked Sendable {
    public let count: Int
    public let baseAddress: UnsafeMutablePointer<Float>

    /// Allocates `count` floats, all zero. Zeroing also touches every page, so
    /// the memory is resident (and counted in RSS) from here on.
    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        baseAddress = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        baseAddress.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { baseAddress.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { baseAddress.deallocate() }

    public var bytes: Int { count * MemoryLayout<Float>.stride }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: baseAddress, count: count)
    }

    public subscript(i: Int) -> Float {
        get { precondition(i >= 0 && i < count); return baseAddress[i] }
        set { precondition(i >= 0 && i < count); baseAddress[i] = newValue }
    }

    public func fill(_ value: Float) { baseAddress.update(repeating: value, count: count) }

    public func toArray() -> [Float] { Array(buffer) }
}
