/// An element type tensors are stored in, widened to float32 for arithmetic
/// and narrowed back, rounding to nearest even, to be stored.
///
/// `widen` and `narrow` go 16 elements at a time, converting lane by lane
/// in an `@inline(__always)` loop, which compiles to one `vcvtph2ps` or
/// `vcvtps2ph` (F16C, on AVX2 and AVX-512 alike) for `Float16`, and to a
/// zero-extend and a 16-bit shift for ``BFloat16``. Why not a plain loop
/// over the elements: LLVM left most of those scalar (it cannot rule out
/// that the two buffers overlap); why not `SIMD16<Float>(SIMD16<Float16>)`:
/// that initializer is an out-of-line helper.
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

extension StorageElement {
    /// Converts `count` values `From` → `To` at a time of 16 with `lanes`
    /// (one vector conversion once inlined), the tail with `scalar`.
    @inline(__always)
    static func convert<From, To>(
        _ source: UnsafePointer<From>, into destination: UnsafeMutablePointer<To>, count: Int,
        lanes: (SIMD16<From.Scalar>) -> SIMD16<To.Scalar>, scalar: (From) -> To
    ) where From: SIMDScalarStorage, To: SIMDScalarStorage {
        var i = 0
        while i + 16 <= count {
            let x = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD16<From.Scalar>.self)
            UnsafeMutableRawPointer(destination + i).storeBytes(of: lanes(x), as: SIMD16<To.Scalar>.self)
            i += 16
        }
        while i < count {
            destination[i] = scalar(source[i])
            i += 1
        }
    }
}

/// A type whose values are one SIMD scalar's bits (the element types and
/// their bit patterns), so rows of them load as `SIMD16<Scalar>`.
public protocol SIMDScalarStorage {
    associatedtype Scalar: SIMDScalar
}
extension Float: SIMDScalarStorage { public typealias Scalar = Float }
extension Float16: SIMDScalarStorage { public typealias Scalar = Float16 }
extension BFloat16: SIMDScalarStorage { public typealias Scalar = UInt16 }

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
        convert(
            source, into: destination, count: count,
            lanes: { h in
                var f = SIMD16<Float>()
                for l in 0 ..< 16 { f[l] = Float(h[l]) }
                return f
            }, scalar: { Float($0) })
    }

    /// Values beyond ±65504 (after rounding) become ±∞, as IEEE conversion does.
    @inline(__always)
    public static func narrow(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float16>, count: Int
    ) {
        convert(
            source, into: destination, count: count,
            lanes: { f in
                var h = SIMD16<Float16>()
                for l in 0 ..< 16 { h[l] = Float16(f[l]) }
                return h
            }, scalar: { Float16($0) })
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

    @inlinable public init(_ value: Float) { bitPattern = Self.roundedBits(value.bitPattern) }

    @inline(__always) public init(narrowing value: Float) { self.init(value) }

    /// The bits of the float with bits `u` rounded to bfloat16.
    @inlinable @inline(__always) static func roundedBits(_ u: UInt32) -> UInt16 {
        let nan = u & 0x7FFF_FFFF > 0x7F80_0000
        return UInt16(truncatingIfNeeded: nan ? (u &>> 16) | 0x40 : (u &+ 0x7FFF &+ ((u &>> 16) & 1)) &>> 16)
    }

    public static var precision: Precision { .bf16 }

    @inline(__always) public var widened: Float { Float(bitPattern: UInt32(bitPattern) &<< 16) }

    @inline(__always)
    public static func widen(
        _ source: UnsafePointer<BFloat16>, into destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        // A plain loop, which LLVM leaves scalar (one `shl` per element);
        // whole-vector SIMD8<UInt32> shifts vectorize (docs/DECISIONS.md)
        // but are not yet measured against it on a quiet host.
        for i in 0 ..< count { destination[i] = Float(bitPattern: UInt32(source[i].bitPattern) &<< 16) }
    }

    @inline(__always)
    public static func narrow(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<BFloat16>, count: Int
    ) {
        convert(
            source, into: destination, count: count,
            lanes: { f in
                var h = SIMD16<UInt16>()
                for l in 0 ..< 16 { h[l] = roundedBits(f[l].bitPattern) }
                return h
            }, scalar: { BFloat16($0) })
    }

    public var description: String { "\(widened)" }
}

extension UnsafePointer where Pointee: StorageElement {
    /// The same address as float32 elements, for generic code on its float32
    /// path (`Pointee` must be `Float`: checked).
    @inline(__always) var asFloat32: UnsafePointer<Float> {
        precondition(Pointee.self == Float.self, "\(Pointee.self) elements read as Float")
        return UnsafeRawPointer(self).assumingMemoryBound(to: Float.self)
    }
}

extension UnsafeMutablePointer where Pointee: StorageElement {
    /// ``UnsafePointer/asFloat32``, mutable.
    @inline(__always) var asFloat32: UnsafeMutablePointer<Float> {
        precondition(Pointee.self == Float.self, "\(Pointee.self) elements read as Float")
        return UnsafeMutableRawPointer(self).assumingMemoryBound(to: Float.self)
    }
}

extension Float {
    /// A bfloat16 widened (exact).
    @inlinable public init(_ value: BFloat16) { self.init(bitPattern: UInt32(value.bitPattern) &<< 16) }
}
