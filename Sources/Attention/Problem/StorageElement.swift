/// An element type tensors are stored in, widened to float32 for arithmetic
/// and narrowed back, rounding to nearest even, to be stored.
///
/// `widen` and `narrow` are plain loops over contiguous elements: LLVM
/// vectorizes them to `vcvtph2ps`/`vcvtps2ph` (F16C, on AVX2 and AVX-512
/// alike) for `Float16`, and to a zero-extend and a 16-bit shift for
/// ``BFloat16``. (Swift's `SIMD16<Float>(SIMD16<Float16>)` initializer is
/// an out-of-line helper: it is not used.)
public protocol StorageElement: BitwiseCopyable, Sendable {
    static var precision: Precision { get }

    /// `count` elements at `source` as float32 at `destination` (exact).
    static func widen(_ source: UnsafePointer<Self>, into destination: UnsafeMutablePointer<Float>, count: Int)

    /// `count` floats rounded to nearest even into `destination`.
    static func narrow(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Self>, count: Int)

    /// One element, widened.
    var widened: Float { get }

    /// One float, rounded to nearest even.
    init(narrowing value: Float)
}

extension Float: StorageElement {
    public static var precision: Precision { .f32 }

    @inline(__always)
    public static func widen(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int)
    {
        destination.update(from: source, count: count)
    }

    @inline(__always)
    public static func narrow(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int)
    {
        destination.update(from: source, count: count)
    }

    @inline(__always) public var widened: Float { self }
    @inline(__always) public init(narrowing value: Float) { self = value }
}

extension Float16: StorageElement {
    public static var precision: Precision { .f16 }

    @inline(__always)
    public static func widen(
        _ source: UnsafePointer<Float16>, into destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0 ..< count { destination[i] = Float(source[i]) }
    }

    /// Values beyond ±65504 (after rounding) become ±∞, as IEEE conversion does.
    @inline(__always)
    public static func narrow(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float16>, count: Int
    ) {
        for i in 0 ..< count { destination[i] = Float16(source[i]) }
    }

    @inline(__always) public var widened: Float { Float(self) }
    @inline(__always) public init(narrowing value: Float) { self.init(value) }
}

/// bfloat16: the sign, the 8 exponent bits and the top 7 fraction bits of a
/// float32, so that widening is a 16-bit shift and the range is float32's.
///
/// Narrowing rounds to nearest even, `(u + 0x7FFF + ((u >> 16) & 1)) >> 16`
/// on the float's bits `u` (what `vcvtneps2bf16` computes, bit for bit, on
/// normal numbers; unlike it, subnormals are rounded, not flushed to zero).
/// A NaN stays a NaN: its top fraction bit is set, so it cannot round to ∞.
@frozen public struct BFloat16: StorageElement, Hashable, CustomStringConvertible {
    public var bitPattern: UInt16

    @inlinable public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    @inlinable public init(_ value: Float) { bitPattern = Self.roundedBits(value) }

    @inline(__always) public init(narrowing value: Float) { self.init(value) }

    @inlinable static func roundedBits(_ value: Float) -> UInt16 {
        let u = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: u &>> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u &>> 16) & 1)) &>> 16)
    }

    public static var precision: Precision { .bf16 }

    @inline(__always) public var widened: Float { Float(bitPattern: UInt32(bitPattern) &<< 16) }

    @inline(__always)
    public static func widen(
        _ source: UnsafePointer<BFloat16>, into destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0 ..< count { destination[i] = Float(bitPattern: UInt32(source[i].bitPattern) &<< 16) }
    }

    @inline(__always)
    public static func narrow(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<BFloat16>, count: Int
    ) {
        for i in 0 ..< count { destination[i] = BFloat16(source[i]) }
    }

    public var description: String { "\(widened)" }
}

extension Float {
    /// A bfloat16 widened (exact).
    @inlinable public init(_ value: BFloat16) { self.init(bitPattern: UInt32(value.bitPattern) &<< 16) }
}
