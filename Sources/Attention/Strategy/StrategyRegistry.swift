/// Every strategy the suite knows, by name. `attnbench list`, `--strategy`,
/// the sweep and the tests all iterate over ``all``; adding a strategy is one
/// new file in `Strategies/` and one line here.
public enum StrategyRegistry {
    /// A registered strategy and how to configure it.
    public struct Entry: Sendable {
        public let name: String
        public let make: @Sendable (StrategyOptions) -> any AttentionStrategy
    }

    public static let all: [Entry] = [
        Entry(name: "dense") { _ in DenseAttention() },
        Entry(name: "tiled") { TiledAttention(tile: $0.tile, kernel: $0.kernel) },
        Entry(name: "sliding") { SlidingWindowAttention(tile: $0.tile, kernel: $0.kernel) },
        Entry(name: "block-sparse") { BlockSparseAttention(tile: $0.tile, kernel: $0.kernel) },
    ]

    public static var names: [String] { all.map(\.name) }

    /// The strategy registered under `name`, configured with `options`.
    ///
    /// - Throws: ``AttentionError/unknownStrategy(_:known:)``.
    public static func strategy(named name: String, options: StrategyOptions = .init()) throws -> any AttentionStrategy {
        guard let entry = all.first(where: { $0.name == name }) else {
            throw AttentionError.unknownStrategy(name, known: names)
        }
        return entry.make(options)
    }
}
