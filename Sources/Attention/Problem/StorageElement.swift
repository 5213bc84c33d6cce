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

    /// `V.scalarCount` elements at `p` widened into one vector (no
    /// alignment needed): the kernels' load when they read stored K and V
    /// directly, so conversion costs one instruction beside the FMAs, not
    /// a pass through memory.
    static func loadVector<V: FloatVector>(_ p: UnsafePointer<Self>, as _: V.Type) -> V

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

extension StorageElement where Self: SIMDScalarStorage {
    /// ``loadVector(_:as:)`` for a type stored as `Scalar` bits: one
    /// unaligned vector load at `V`'s width, then `lane` on every lane
    /// (inlined, one vector conversion).
    @inline(__always)
    static func widenLanes<V: FloatVector>(_ p: UnsafePointer<Self>, as _: V.Type, lane: (Scalar) -> Float) -> V {
        let raw = UnsafeRawPointer(p)
        switch V.scalarCount {
        case 16:
            let h = raw.loadUnaligned(as: SIMD16<Scalar>.self)
            var f = SIMD16<Float>()
            for l in 0 ..< 16 { f[l] = lane(h[l]) }
            return unsafeBitCast(f, to: V.self)
        case 8:
            let h = raw.loadUnaligned(as: SIMD8<Scalar>.self)
            var f = SIMD8<Float>()
            for l in 0 ..< 8 { f[l] = lane(h[l]) }
            return unsafeBitCast(f, to: V.self)
        default:
            var f = V()
            for l in 0 ..< V.scalarCount {
                f[l] = lane(raw.load(fromByteOffset: l * MemoryLayout<Scalar>.stride, as: Scalar.self))
            }
            return f
        }
    }
}

extension FloatVector {
    /// `scalarCount` stored elements at `p`, widened (see
    /// ``StorageElement/loadVector(_:as:)``).
    @inline(__always)
    static func load<E: StorageElement>(widening p: UnsafePointer<E>) -> Self { E.loadVector(p, as: Self.self) }
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

    @inline(__always)
    public static func loadVector<V: FloatVector>(_ p: UnsafePointer<Float>, as _: V.Type) -> V { V.load(p) }

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

    /// One `vcvtph2ps` at AVX2's and AVX-512's widths.
    @inline(__always)
    public static func loadVector<V: FloatVector>(_ p: UnsafePointer<Float16>, as _: V.Type) -> V {
        widenLanes(p, as: V.self) { Float($0) }
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

    /// A zero-extend and a 16-bit shift.
    @inline(__always)
    public static func loadVector<V: FloatVector>(_ p: UnsafePointer<BFloat16>, as _: V.Type) -> V {
        widenLanes(p, as: V.self) { Float(bitPattern: UInt32($0) &<< 16) }
    }

    @inline(__always)
    public static func widen(
        _ source: UnsafePointer<BFloat16>, into destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        convert(
            source, into: destination, count: count,
            lanes: { h in
                var f = SIMD16<Float>()
                for l in 0 ..< 16 { f[l] = Float(bitPattern: UInt32(h[l]) &<< 16) }
                return f
            }, scalar: { Float($0) })
    }

    @inline(__always)
    public static func narrow(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<BFloat16>, count: Int
    ) {
        convert(
            source, into: destination, count: count,
            lanes: { f in
                // `roundedBits` without a select, in whole-vector integer
                // arithmetic (a SIMD comparison or a per-lane select here
                // compiled to a scalar loop): `nan` is 1 exactly when the
                // magnitude's bits exceed ∞'s, as the borrow of ∞ − |u|;
                // such a lane adds nothing and gets the quiet bit.
                let u = unsafeBitCast(f, to: SIMD16<UInt32>.self)
                let nan = (0x7F80_0000 &- (u & 0x7FFF_FFFF)) &>> 31
                let add = (0x7FFF &+ ((u &>> 16) & 1)) & (nan &- 1)
                let bits = ((u &+ add) &>> 16) | (nan &<< 6)
                var h = SIMD16<UInt16>()
                for l in 0 ..< 16 { h[l] = UInt16(truncatingIfNeeded: bits[l]) }
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
