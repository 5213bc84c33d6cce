/// A tensor's elements in one ``Precision``, 64-byte aligned, owning its
/// memory (allocated like ``AlignedBuffer``: large ones mapped, zeroed and
/// so resident on request). Q, K, V and O are tensors; workspaces are
/// float32 ``AlignedBuffer``s.
///
/// Reading an element widens it to float32 (exact); writing one rounds it
/// to the precision, to nearest even.
public final class Tensor: @unchecked Sendable {
    public let precision: Precision
    public let count: Int
    private let memory: AlignedMemory

    /// `count` elements, all zero when `zeroed` (every page then resident).
    public init(count: Int, precision: Precision = .f32, zeroed: Bool = true) {
        precondition(count >= 0)
        self.precision = precision
        self.count = count
        memory = AlignedMemory(bytes: count * precision.bytes, zeroed: zeroed)
        precision.dispatch(Bind(memory: memory, count: max(count, 1)))
    }

    /// `values`, rounded to `precision`.
    public convenience init(_ values: [Float], precision: Precision = .f32) {
        self.init(count: values.count, precision: precision, zeroed: false)
        values.withUnsafeBufferPointer { write(from: $0.baseAddress!, count: values.count, at: 0) }
    }

    private struct Bind: PrecisionBody {
        let memory: AlignedMemory, count: Int
        func run<E: StorageElement>(_: E.Type) { _ = memory.base.bindMemory(to: E.self, capacity: count) }
    }

    /// Bytes of the elements: `count · precision.bytes`.
    public var bytes: Int { count * precision.bytes }

    /// The elements as `E`, which must be the precision's element type.
    @inlinable public func elements<E: StorageElement>(_: E.Type = E.self) -> UnsafeMutablePointer<E> {
        precondition(E.precision == precision, "a \(precision) tensor read as \(E.precision)")
        return baseAddress.assumingMemoryBound(to: E.self)
    }

    /// The first element's address, untyped.
    public var baseAddress: UnsafeMutableRawPointer { memory.base }

    /// The float32 elements of an `f32` tensor.
    public var floats: UnsafeMutablePointer<Float> { elements(Float.self) }

    /// Elements `offset ..< offset + count` widened into `destination`.
    public func read(_ count: Int, at offset: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count)
        precision.dispatch(Read(base: baseAddress, offset: offset, count: count, destination: destination))
    }

    /// `count` floats from `source` rounded into elements `offset ..< offset + count`.
    public func write(from source: UnsafePointer<Float>, count: Int, at offset: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count)
        precision.dispatch(Write(base: baseAddress, offset: offset, count: count, source: source))
    }

    private struct Read: PrecisionBody {
        let base: UnsafeMutableRawPointer, offset: Int, count: Int, destination: UnsafeMutablePointer<Float>
        func run<E: StorageElement>(_: E.Type) {
            E.widen(base.assumingMemoryBound(to: E.self) + offset, into: destination, count: count)
        }
    }

    private struct Write: PrecisionBody {
        let base: UnsafeMutableRawPointer, offset: Int, count: Int, source: UnsafePointer<Float>
        func run<E: StorageElement>(_: E.Type) {
            E.narrow(source, into: base.assumingMemoryBound(to: E.self) + offset, count: count)
        }
    }

    /// Element `i`, widened; setting it rounds.
    public subscript(i: Int) -> Float {
        get {
            precondition(i >= 0 && i < count)
            switch precision {
            case .f32: return elements(Float.self)[i]
            case .f16: return Float(elements(Float16.self)[i])
            case .bf16: return elements(BFloat16.self)[i].widened
            }
        }
        set {
            precondition(i >= 0 && i < count)
            withUnsafePointer(to: newValue) { write(from: $0, count: 1, at: i) }
        }
    }

    /// Calls `body` for consecutive ranges of at most 64K of this tensor's
    /// elements, in order, with a float32 scratch of the range's size: the
    /// way to stream a tensor through float32 without a float32 copy of it.
    public func forEachChunk(_ body: (_ elements: Range<Int>, _ scratch: UnsafeMutablePointer<Float>) throws -> Void)
        rethrows
    {
        let scratch = AlignedBuffer(count: min(count, 1 << 16), zeroed: false)
        var offset = 0
        while offset < count {
            let n = min(scratch.count, count - offset)
            try body(offset ..< offset + n, scratch.baseAddress)
            offset += n
        }
    }

    /// Every element set to `value`, rounded.
    public func fill(_ value: Float) {
        forEachChunk { range, scratch in
            scratch.update(repeating: value, count: range.count)
            write(from: scratch, count: range.count, at: range.lowerBound)
        }
    }

    /// The elements, widened.
    public func toArray() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { read(count, at: 0, into: buffer.baseAddress!) }
            initialized = count
        }
    }
}
