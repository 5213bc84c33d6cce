/// The size of one attention problem.
///
/// Tensors are laid out `[batch, heads, length, headDim]`, row-major:
/// queries and the output have `heads` heads of `queryLength` rows, keys and
/// values have `kvHeads` heads of `keyLength` rows. Query head `h` reads
/// key/value head `h / (heads / kvHeads)`, which covers multi-head
/// (`kvHeads == heads`), grouped-query (`1 < kvHeads < heads`) and
/// multi-query (`kvHeads == 1`) attention.
///
/// `queryLength != keyLength` is the decode and cross-attention case; causal
/// and window masks are then aligned bottom-right (see ``MaskPattern``).
public struct AttentionShape: Hashable, Sendable, Codable {
    public var batch: Int
    public var heads: Int
    public var kvHeads: Int
    public var queryLength: Int
    public var keyLength: Int
    public var headDim: Int
    /// The factor applied to Q·Kᵀ; `nil` means 1/√headDim.
    public var customScale: Float?

    /// Creates a shape, checking every size.
    ///
    /// - Throws: ``AttentionError/invalidShape(_:)`` when a size is zero or
    ///   negative or `heads` is not a multiple of `kvHeads`.
    public init(
        batch: Int = 1, heads: Int, kvHeads: Int? = nil,
        queryLength: Int, keyLength: Int? = nil, headDim: Int, scale: Float? = nil
    ) throws {
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.queryLength = queryLength
        self.keyLength = keyLength ?? queryLength
        self.headDim = headDim
        self.customScale = scale
        try validate()
    }

    /// Checks the invariants; every initializer calls it.
    public func validate() throws {
        for (name, value) in [
            ("batch", batch), ("heads", heads), ("kv-heads", kvHeads),
            ("seq-len", queryLength), ("kv-len", keyLength), ("head-dim", headDim),
        ]
        where value < 1 {
            throw AttentionError.invalidShape("\(name) must be at least 1, got \(value)")
        }
        if heads % kvHeads != 0 {
            throw AttentionError.invalidShape(
                "heads (\(heads)) must be a multiple of kv-heads (\(kvHeads))")
        }
        // BLAS takes 32-bit sizes, and every tensor's bytes must fit in an Int.
        for (name, value) in [("seq-len", queryLength), ("kv-len", keyLength), ("head-dim", headDim)]
        where value > Int(Int32.max) {
            throw AttentionError.invalidShape("\(name) must be at most \(Int32.max), got \(value)")
        }
        for (name, factors) in [
            ("Q", [batch, heads, queryLength, headDim]), ("K", [batch, kvHeads, keyLength, headDim]),
        ] {
            var product = 16  // 4 bytes a float, 4 tensors
            for f in factors {
                let (p, overflow) = product.multipliedReportingOverflow(by: f)
                if overflow {
                    throw AttentionError.invalidShape(
                        "the \(name) tensor of \(factors) elements is too large to address")
                }
                product = p
            }
        }
        if let s = customScale, !s.isFinite {
            throw AttentionError.invalidShape("scale must be finite, got \(s)")
        }
    }

    /// The softmax temperature: `customScale` or 1/√d.
    public var scale: Float { customScale ?? 1 / Float(headDim).squareRoot() }

    /// Query heads per key/value head.
    public var groupSize: Int { heads / kvHeads }

    /// Elements of Q (and of the output O).
    public var queryElementCount: Int { batch * heads * queryLength * headDim }
    /// Elements of K (and of V).
    public var keyElementCount: Int { batch * kvHeads * keyLength * headDim }

    /// Bytes of Q, K, V and O together, stored in `precision`.
    public func tensorBytes(_ precision: Precision) -> Int {
        (2 * queryElementCount + 2 * keyElementCount) * precision.bytes
    }

    /// Offset of query head `(b, h)` in Q or O.
    @inlinable public func queryOffset(batch b: Int, head h: Int) -> Int {
        (b * heads + h) * queryLength * headDim
    }

    /// Offset in K or V of the key/value head that query head `(b, h)` reads.
    @inlinable public func keyOffset(batch b: Int, head h: Int) -> Int {
        (b * kvHeads + h / groupSize) * keyLength * headDim
    }

    /// The position of query row `i` on the key axis: `i + keyLength − queryLength`.
    /// Causal and window masks compare key indices with this (bottom-right alignment).
    @inlinable public var queryPositionOffset: Int { keyLength - queryLength }
}

extension AttentionShape: CustomStringConvertible {
    public var description: String {
        var s = "B=\(batch) H=\(heads)"
        if kvHeads != heads { s += " Hkv=\(kvHeads)" }
        s += " Nq=\(queryLength)"
        if keyLength != queryLength { s += " Nk=\(keyLength)" }
        s += " d=\(headDim)"
        return s
    }
}

extension AttentionShape {
    /// A shape from trusted numbers (a report row), not validated.
    public init(
        unchecked batch: Int, _ heads: Int, _ kvHeads: Int, _ queryLength: Int, _ keyLength: Int, _ headDim: Int
    ) {
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads
        self.queryLength = queryLength
        self.keyLength = keyLength
        self.headDim = headDim
        self.customScale = nil
    }
}
