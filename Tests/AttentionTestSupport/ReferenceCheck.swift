import Attention

/// One strategy run checked against the reference.
public struct CheckedRun {
    public let inputs: AttentionInputs
    public let mask: AttentionMask
    public let output: [Float]
    public let reference: [Double]
    public let error: ReferenceError
}

public enum ReferenceCheck {
    /// Runs `strategy` on seeded standard normal inputs stored in
    /// `precision` and compares every output element with
    /// ``ReferenceAttention`` on those (rounded) inputs.
    public static func run(
        _ strategy: any AttentionStrategy, shape: AttentionShape, pattern: MaskPattern,
        seed: UInt64, threads: Int = 2, precision: Precision = .f32
    ) throws -> CheckedRun {
        let inputs = AttentionInputs.random(shape: shape, seed: seed, precision: precision)
        let mask = try AttentionMask(pattern, shape: shape)
        let output = inputs.makeOutput()
        output.fill(.nan)  // a strategy that forgets a row cannot pass
        try strategy.forward(inputs, mask: mask, output: output, threads: threads)
        let reference = ReferenceAttention.forward(inputs, mask: mask)
        return CheckedRun(
            inputs: inputs, mask: mask, output: output.toArray(), reference: reference,
            error: compare(output.toArray(), reference))
    }

    /// The suite's one error measure (``ReferenceError``) of `output` against `reference`.
    public static func compare(_ output: [Float], _ reference: [Double]) -> ReferenceError {
        ReferenceError(output, reference)
    }
}

/// A small deterministic generator for test parameters (SplitMix64).
public struct TestRandom {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
    public mutating func pick<T>(_ items: [T]) -> T { items[int(in: 0 ... items.count - 1)] }
    /// A uniform double in `range` (53 random bits).
    public mutating func double(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * Double(next() >> 11) / Double(1 << 53)
    }
}
