import CTargetFeatures

/// A vector of floats the kernels compute with: `SIMD4` (any CPU), `SIMD8`
/// (one AVX2 register), `SIMD16` (one AVX-512 register). Each kernel names
/// its own, and the softmax step beside it works at the same width.
///
/// `Bits` is the integer vector of the same width, for bit manipulation
/// (``exp2(_:)`` builds 2ⁿ in the exponent field).
///
/// The compare-and-blend operations are requirements, implemented once per
/// concrete type, because the standard library's `replacing(with:where:)`
/// called from generic code (even specialized) is lowered lane by lane,
/// about a hundred times slower than on a concrete `SIMD8<Float>`. Through a
/// requirement the concrete one is used.
///
/// `load` and `store` are requirements for a like reason: written once in a
/// protocol extension, the standard library's `loadUnaligned` and
/// `storeBytes` stayed out-of-line calls in the softmax fold; per concrete
/// type they inline to one `vmovups`. (Figures: docs/DECISIONS.md.)
public protocol FloatVector: SIMD where Scalar == Float {
    associatedtype Bits: SIMD where Bits.Scalar == Int32

    /// The lane-wise maximum, as one compare and blend (NaN lanes of
    /// `other` are ignored).
    func maximum(_ other: Self) -> Self

    /// Each lane limited to `[low, high]` (NaN lanes stay NaN).
    func clamped(low: Self, high: Self) -> Self

    /// Loads `Self.scalarCount` floats from `p` (no alignment needed).
    static func load(_ p: UnsafePointer<Float>) -> Self

    /// Stores the lanes to `p` (no alignment needed).
    func store(to p: UnsafeMutablePointer<Float>)

    /// The sum of the lanes, as a tree of half-width additions (the order
    /// differs from a left-to-right sum only by rounding).
    func laneSum() -> Float

    /// One level of the lane sums of `scalarCount` vectors at once (a
    /// transpose-and-add): `x` and `y` each hold partial sums in groups of
    /// `2·width` lanes; the result holds the same sums in groups of `width`
    /// lanes (`width` a power of two below `scalarCount`). Paired as a
    /// balanced tree, vectors `0 ..< scalarCount` leave one sum per lane,
    /// which ``inKeyOrder()`` puts in order. One shuffle pair and one add.
    static func pairSums(_ x: Self, _ y: Self, width: Int) -> Self

    /// The last level of ``pairSums(_:_:width:)`` rearranged so that lane
    /// `i` holds the sum of vector `i`.
    func inKeyOrder() -> Self
}

extension SIMD4: FloatVector where Scalar == Float {
    public typealias Bits = SIMD4<Int32>
    @inlinable @inline(__always)
    public func laneSum() -> Float {
        let pair = lowHalf + highHalf
        return pair[0] + pair[1]
    }
    @inlinable @inline(__always)
    public static func pairSums(_ x: Self, _ y: Self, width: Int) -> Self {
        width == 2 ? attn_pair_sums4_2(x, y) : attn_pair_sums4_1(x, y)
    }
    @inlinable @inline(__always)
    public func inKeyOrder() -> Self { self }
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inlinable @inline(__always)
    public func store(to p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
    @inlinable @inline(__always)
    public func maximum(_ other: Self) -> Self { replacing(with: other, where: other .> self) }
    @inlinable @inline(__always)
    public func clamped(low: Self, high: Self) -> Self {
        replacing(with: low, where: self .< low).replacing(with: high, where: self .> high)
    }
}

extension SIMD8: FloatVector where Scalar == Float {
    public typealias Bits = SIMD8<Int32>
    @inlinable @inline(__always)
    public func laneSum() -> Float { (lowHalf + highHalf).laneSum() }
    @inlinable @inline(__always)
    public static func pairSums(_ x: Self, _ y: Self, width: Int) -> Self {
        switch width {
        case 4: return attn_pair_sums8_4(x, y)
        case 2: return attn_pair_sums8_2(x, y)
        default: return attn_pair_sums8_1(x, y)
        }
    }
    @inlinable @inline(__always)
    public func inKeyOrder() -> Self { attn_key_order8(self) }
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inlinable @inline(__always)
    public func store(to p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
    @inlinable @inline(__always)
    public func maximum(_ other: Self) -> Self { replacing(with: other, where: other .> self) }
    @inlinable @inline(__always)
    public func clamped(low: Self, high: Self) -> Self {
        replacing(with: low, where: self .< low).replacing(with: high, where: self .> high)
    }
}

extension SIMD16: FloatVector where Scalar == Float {
    public typealias Bits = SIMD16<Int32>
    @inlinable @inline(__always)
    public func laneSum() -> Float { (lowHalf + highHalf).laneSum() }
    @inlinable @inline(__always)
    public static func pairSums(_ x: Self, _ y: Self, width: Int) -> Self {
        switch width {
        case 8: return attn_pair_sums16_8(x, y)
        case 4: return attn_pair_sums16_4(x, y)
        case 2: return attn_pair_sums16_2(x, y)
        default: return attn_pair_sums16_1(x, y)
        }
    }
    @inlinable @inline(__always)
    public func inKeyOrder() -> Self { attn_key_order16(self) }
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inlinable @inline(__always)
    public func store(to p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
    @inlinable @inline(__always)
    public func maximum(_ other: Self) -> Self { replacing(with: other, where: other .> self) }
    @inlinable @inline(__always)
    public func clamped(low: Self, high: Self) -> Self {
        replacing(with: low, where: self .< low).replacing(with: high, where: self .> high)
    }
}
