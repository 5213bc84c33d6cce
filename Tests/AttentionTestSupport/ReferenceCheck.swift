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

/// One backward pass checked against the reference: the error of each gradient.
public struct CheckedBackward {
    public let query: ReferenceError
    public let key: ReferenceError
    public let value: ReferenceError

    /// Every gradient within the backward's tolerances (``ReferenceError/withinGradientTolerance``).
    public var withinTolerance: Bool {
        query.withinGradientTolerance && key.withinGradientTolerance && value.withinGradientTolerance
    }

    public var description: String { "dQ \(query), dK \(key), dV \(value)" }
}

extension ReferenceCheck {
    /// Runs `strategy`'s training forward and backward on seeded inputs and
    /// dO (``AttentionGradients/randomOutputGradient(shape:seed:)``) and
    /// compares dQ, dK and dV with ``ReferenceAttention/backward(_:mask:outputGradient:)``.
    /// The gradients start as NaN, so a strategy that leaves one unwritten cannot pass.
    public static func backward(
        _ strategy: any AttentionStrategy, shape: AttentionShape, pattern: MaskPattern, seed: UInt64,
        threads: Int = 2
    ) throws -> CheckedBackward {
        let inputs = AttentionInputs.random(shape: shape, seed: seed)
        let mask = try AttentionMask(pattern, shape: shape)
        let dO = AttentionGradients.randomOutputGradient(shape: shape, seed: seed)
        let saved = SavedForward(shape: shape)
        try strategy.forward(inputs, mask: mask, saving: saved, threads: threads)
        let gradients = AttentionGradients(shape: shape)
        for t in [gradients.query, gradients.key, gradients.value] { t.fill(.nan) }
        try strategy.backward(
            inputs, mask: mask, saved: saved, outputGradient: dO, into: gradients, threads: threads)
        let reference = ReferenceAttention.backward(inputs, mask: mask, outputGradient: dO)
        return CheckedBackward(
            query: compare(gradients.query.toArray(), reference.query),
            key: compare(gradients.key.toArray(), reference.key),
            value: compare(gradients.value.toArray(), reference.value))
    }
}
