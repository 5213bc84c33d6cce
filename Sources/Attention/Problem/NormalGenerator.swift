#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A seeded source of standard normal floats that gives the same sequence on
/// every run and machine.
///
/// Uniform bits come from xoshiro256** (Blackman and Vigna), whose 256-bit
/// state is seeded by four outputs of SplitMix64 applied to
/// `seed ^ (stream · 0x9E3779B97F4A7C15)`. Normals come from the Box–Muller
/// transform in Double precision (both outputs used), rounded to Float:
/// `√(−2 ln u₁)·cos(2π u₂)` and `… sin(2π u₂)` with u₁ ∈ (0, 1] and
/// u₂ ∈ [0, 1) taken from the top 53 bits. The only platform dependence is
/// libm's `log`, `cos`, `sin` in Double; their last-ulp differences vanish
/// when the result is rounded to Float in all but astronomically rare cases.
public struct NormalGenerator: Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private var spare: Float?

    public init(seed: UInt64, stream: UInt64 = 0) {
        var x = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(&x), splitMix(&x), splitMix(&x), splitMix(&x))
    }

    /// The next 64 uniform bits (xoshiro256**).
    public mutating func nextBits() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(nextBits() >> 11) * 0x1.0p-53
    }

    /// The next standard normal value.
    public mutating func nextNormal() -> Float {
        if let z = spare {
            spare = nil
            return z
        }
        let u1 = 1 - nextUniform()  // (0, 1]: log is finite
        let u2 = nextUniform()
        let r = (-2 * _log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spare = Float(r * _sin(theta))
        return Float(r * _cos(theta))
    }

    /// Fills `buffer` with standard normal values.
    public mutating func fill(_ buffer: UnsafeMutableBufferPointer<Float>) {
        for i in buffer.indices { buffer[i] = nextNormal() }
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

@inline(__always) private func _log(_ x: Double) -> Double { log(x) }
@inline(__always) private func _sin(_ x: Double) -> Double { sin(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { cos(x) }
