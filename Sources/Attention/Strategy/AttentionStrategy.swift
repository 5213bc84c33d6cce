/// One way of computing attention,
/// `O = softmax(scale · Q·Kᵀ + M) · V` per (batch, query head), where
/// `M` is 0 on attended pairs and −∞ elsewhere, and a query row with no
/// attended key gives a row of zeros.
///
/// Every strategy computes the same function; they differ in how much work
/// and memory it takes. The float64 ``ReferenceAttention`` is the judge.
///
/// A strategy describes itself completely: its name, how it is configured,
/// the work it does and the pattern it is benchmarked on. The registry, the
/// command line, the sweep's FLOP counts and the benchmark suite all derive
/// from these, so adding a strategy is its own file plus its type in
/// ``StrategyRegistry/builtIn`` (or ``StrategyRegistry/register(_:)`` at
/// run time).
public protocol AttentionStrategy: Sendable {
    /// The registry name, used by `--strategy` and in every report (for
    /// example `dense`): lowercase letters, digits and `-`.
    static var name: String { get }

    /// The strategy configured with `options`; each strategy documents
    /// which options it reads and ignores the others.
    init(options: StrategyOptions)

    /// The pattern the package-benchmark suite measures it on: one the
    /// strategy supports and is meant for.
    static var benchmarkPattern: MaskPattern { get }

    /// The (query, key) pairs a forward pass computes scores for, per
    /// (batch, head): the attended pairs for strategies that skip masked
    /// work (the default), Nq·Nk for one that computes every pair. The sweep
    /// counts computed FLOPs from it.
    func computedPairs(_ mask: AttentionMask) -> Int

    /// One line on how the strategy works, for `attnbench list`.
    var summary: String { get }

    /// The pattern families the strategy computes.
    var supportedKinds: Set<MaskPattern.Kind> { get }

    /// The extra working memory, in bytes, a forward pass needs beyond Q, K, V
    /// and O, with `threads` workers, when the tensors are stored in `precision`.
    func predictedExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int, precision: Precision) -> Int

    /// The tile kernel of the strategy's products, or nil when it uses none
    /// (dense's are whole-matrix OpenBLAS products).
    var tileKernel: KernelID? { get }

    /// The kernel and tile a forward pass on this problem runs with, for
    /// reports: what was used, not what was asked for.
    func execution(shape: AttentionShape, mask: AttentionMask) -> StrategyExecution

    /// Tiles worth trying on this problem when tuning (``StrategyOptions/tile``);
    /// empty when the strategy has nothing to tune.
    func tuningCandidates(shape: AttentionShape, mask: AttentionMask) -> [TileSize]

    /// Computes attention of `inputs` under `mask` into `output`
    /// (`shape.queryElementCount` elements in the inputs' precision,
    /// overwritten) using `threads` workers. Every precision is supported:
    /// elements are widened to float32 as they load, all arithmetic is
    /// float32, and O is rounded once as it is stored.
    ///
    /// - Throws: ``AttentionError/unsupportedPattern(strategy:pattern:supported:)``
    ///   when `mask`'s pattern is not one of ``supportedKinds``,
    ///   ``AttentionError/bufferSizeMismatch(_:)`` for a wrong output size or
    ///   precision, and
    ///   ``AttentionError/kernelUnavailable(_:reason:)`` when the strategy's
    ///   kernel cannot run on this CPU or build.
    func forward(_ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int) throws

    // MARK: The backward pass

    /// Why the strategy computes no gradients for `precision`, or nil when
    /// it does: a strategy without a backward pass is still a valid
    /// strategy, and says so here (the default).
    func backwardUnavailability(precision: Precision) -> String?

    /// The forward pass of training: O into `saved.output`, as
    /// ``forward(_:mask:output:threads:)`` computes it, and the row
    /// log-sum-exp into `saved.logSumExp` (see ``SavedForward``).
    ///
    /// - Throws: what ``forward(_:mask:output:threads:)`` throws, and
    ///   ``AttentionError/unsupportedPass(strategy:pass:reason:)`` where
    ///   ``backwardUnavailability(precision:)`` is not nil.
    func forward(_ inputs: AttentionInputs, mask: AttentionMask, saving saved: SavedForward, threads: Int) throws

    /// The gradients of `ℓ = Σ dO ∘ O` into `gradients` (overwritten), from
    /// the inputs, what the training forward saved, and `outputGradient`
    /// (dO, float32, sized like O):
    ///
    ///     D = rowsum(dO ∘ O),  P = exp(scale·Q·Kᵀ − L),  dP = dO·Vᵀ,  dS = P ∘ (dP − D)
    ///     dV = Pᵀ·dO,  dQ = scale · dS·K,  dK = scale · dSᵀ·Q
    ///
    /// Masked pairs contribute nothing; a query row with no attended key
    /// has zero gradients; dK and dV of a key/value head sum over the query
    /// heads that read it.
    ///
    /// - Throws: ``AttentionError/unsupportedPass(strategy:pass:reason:)``
    ///   where ``backwardUnavailability(precision:)`` is not nil, and the
    ///   errors of ``forward(_:mask:output:threads:)`` for the same problem.
    func backward(
        _ inputs: AttentionInputs, mask: AttentionMask, saved: SavedForward, outputGradient: Tensor,
        into gradients: AttentionGradients, threads: Int) throws

    /// The extra working memory, in bytes, of ``backward(_:mask:saved:outputGradient:into:threads:)``
    /// beyond the inputs, the saved tensors, dO and the gradients.
    func predictedBackwardExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int) -> Int
}

extension AttentionStrategy {
    public func backwardUnavailability(precision: Precision) -> String? { "it has no backward pass" }

    public func forward(_ inputs: AttentionInputs, mask: AttentionMask, saving saved: SavedForward, threads: Int)
        throws
    {
        throw AttentionError.unsupportedPass(
            strategy: name, pass: "backward", reason: backwardUnavailability(precision: inputs.precision) ?? "")
    }

    public func backward(
        _ inputs: AttentionInputs, mask: AttentionMask, saved: SavedForward, outputGradient: Tensor,
        into gradients: AttentionGradients, threads: Int
    ) throws {
        throw AttentionError.unsupportedPass(
            strategy: name, pass: "backward", reason: backwardUnavailability(precision: inputs.precision) ?? "")
    }

    public func predictedBackwardExtraBytes(shape: AttentionShape, mask: AttentionMask, threads: Int) -> Int { 0 }

    /// The checks every backward pass (and training forward) starts with:
    /// the forward's, then that the pass runs here and every tensor has its size.
    public func validateBackward(
        _ inputs: AttentionInputs, mask: AttentionMask, saved: SavedForward, outputGradient: Tensor?,
        gradients: AttentionGradients?, threads: Int
    ) throws {
        try validate(inputs, mask: mask, output: saved.output, threads: threads)
        if let why = backwardUnavailability(precision: inputs.precision) {
            throw AttentionError.unsupportedPass(strategy: name, pass: "backward", reason: why)
        }
        let s = inputs.shape
        let rows = s.batch * s.heads * s.queryLength
        guard saved.logSumExp.count == rows, saved.logSumExp.precision == .f32 else {
            throw AttentionError.bufferSizeMismatch(
                "the saved log-sum-exp has \(saved.logSumExp.count) \(saved.logSumExp.precision) elements, "
                    + "\(s) needs \(rows) f32")
        }
        if let dO = outputGradient, dO.count != s.queryElementCount || dO.precision != .f32 {
            throw AttentionError.bufferSizeMismatch(
                "dO has \(dO.count) \(dO.precision) elements, \(s) needs \(s.queryElementCount) f32")
        }
        if let g = gradients {
            for (name, t, n) in [
                ("dQ", g.query, s.queryElementCount), ("dK", g.key, s.keyElementCount),
                ("dV", g.value, s.keyElementCount),
            ] where t.count != n || t.precision != .f32 {
                throw AttentionError.bufferSizeMismatch(
                    "\(name) has \(t.count) \(t.precision) elements, \(s) needs \(n) f32")
            }
        }
    }
}

extension AttentionStrategy {
    /// ``name``, through an instance.
    public var name: String { Self.name }

    public func computedPairs(_ mask: AttentionMask) -> Int { mask.attendedPairs }

    public func supports(_ pattern: MaskPattern) -> Bool { supportedKinds.contains(pattern.kind) }

    /// The supported families in a stable order, for messages and listings.
    public var supportedKindsDescription: String {
        MaskPattern.Kind.allCases.filter(supportedKinds.contains).map(\.rawValue).joined(separator: ", ")
    }

    /// Throws the protocol's error unless the strategy supports `pattern`.
    public func requireSupport(_ pattern: MaskPattern) throws {
        guard supports(pattern) else {
            throw AttentionError.unsupportedPattern(
                strategy: name, pattern: pattern.description, supported: supportedKindsDescription)
        }
    }

    /// The checks every `forward` starts with.
    public func validate(_ inputs: AttentionInputs, mask: AttentionMask, output: Tensor, threads: Int) throws {
        try requireSupport(mask.pattern)
        let s = inputs.shape
        guard mask.queryLength == s.queryLength, mask.keyLength == s.keyLength else {
            throw AttentionError.invalidPattern(
                "mask resolved for \(mask.queryLength)x\(mask.keyLength), problem is \(s.queryLength)x\(s.keyLength)")
        }
        guard output.count == s.queryElementCount else {
            throw AttentionError.bufferSizeMismatch(
                "output has \(output.count) elements, \(s) needs \(s.queryElementCount)")
        }
        guard output.precision == inputs.precision else {
            throw AttentionError.bufferSizeMismatch(
                "output is \(output.precision), the inputs are \(inputs.precision): they must match")
        }
        guard threads >= 1 else { throw AttentionError.invalidShape("threads must be at least 1, got \(threads)") }
    }
}

/// What a forward pass runs with: the tile kernel (``KernelDescriptor/name``,
/// or `openblas`) and the tile, query rows × key columns (nil when the
/// strategy has none).
public struct StrategyExecution: Sendable, Equatable, Codable {
    public var kernel: String
    public var tile: TileSize?

    public init(kernel: String, tile: TileSize?) {
        self.kernel = kernel
        self.tile = tile
    }
}
