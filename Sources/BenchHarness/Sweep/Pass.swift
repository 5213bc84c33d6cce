/// Which pass of attention a case times, as FlashAttention's benchmarks
/// report them.
public enum Pass: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    /// O from Q, K and V.
    case forward
    /// dQ, dK and dV from dO and what the forward saved (O and the row
    /// log-sum-exp); the forward that saved them runs once, untimed.
    case backward
    /// The training forward (which also saves the row log-sum-exp) and the
    /// backward, timed together.
    case both

    /// The useful FLOPs of the pass over the forward's `4·B·H·d` per
    /// attended pair: FlashAttention's convention, 2.5 for the backward
    /// (five products of the forward's size against its two) and 3.5 for both.
    public var flopFactor: Double {
        switch self {
        case .forward: 1
        case .backward: 2.5
        case .both: 3.5
        }
    }

    /// Whether the pass computes gradients.
    public var hasBackward: Bool { self != .forward }

    /// The working memory of the pass from the forward's and the backward's
    /// predictions: both together for `both` (their workspaces are resident
    /// at once), saturating at `Int.max`.
    public func extraBytes(forward: Int, backward: Int) -> Int {
        switch self {
        case .forward: forward
        case .backward: backward
        case .both: forward.addingReportingOverflow(backward).overflow ? .max : forward + backward
        }
    }

    public var description: String { rawValue }
}
