import Synchronization

/// Every strategy the suite knows, by name. `attnbench list`, `--strategy`,
/// the sweep, the tuner, the benchmark suite and the tests all iterate over
/// ``all``, and everything they need comes from the strategy type itself
/// (``AttentionStrategy``): a built-in strategy is one file in `Strategies/`
/// and its type in ``builtIn``; a program or a test adds its own with
/// ``register(_:)``.
public enum StrategyRegistry {
    /// A registered strategy: its type, name and how to configure it.
    public struct Entry: Sendable {
        public let type: any AttentionStrategy.Type

        public var name: String { type.name }

        /// The strategy configured with `options`.
        public func make(_ options: StrategyOptions) -> any AttentionStrategy { type.init(options: options) }

        /// The package-benchmark suite's name for the strategy's benchmark at
        /// `queryLength`: `sliding-window64-n1024` (no spaces, `/` or `:`,
        /// since threshold files are looked up by it).
        public func benchmarkName(queryLength: Int) -> String {
            let pattern = type.benchmarkPattern.description.filter { $0.isLetter || $0.isNumber }
            return "\(name)-\(pattern)-n\(queryLength)"
        }
    }

    /// The strategies of this package, in the order listings and sweeps use.
    public static let builtIn: [any AttentionStrategy.Type] = [
        DenseAttention.self,
        TiledAttention.self,
        SlidingWindowAttention.self,
        BlockSparseAttention.self,
    ]

    private static let registered = Mutex<[any AttentionStrategy.Type]>([])

    /// Adds `type` after the built-in strategies, for this process.
    ///
    /// - Throws: ``AttentionError/invalidStrategyName(_:reason:)`` when the
    ///   name is malformed or already taken.
    public static func register(_ type: any AttentionStrategy.Type) throws {
        let name = type.name
        guard !name.isEmpty, name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }) else {
            throw AttentionError.invalidStrategyName(name, reason: "use lowercase letters, digits and '-'")
        }
        try registered.withLock { list in
            guard !(builtIn + list).contains(where: { $0.name == name }) else {
                throw AttentionError.invalidStrategyName(name, reason: "a strategy of that name is already registered")
            }
            list.append(type)
        }
    }

    /// The built-in strategies, then the registered ones.
    public static var all: [Entry] { (builtIn + registered.withLock { $0 }).map(Entry.init(type:)) }

    public static var names: [String] { all.map(\.name) }

    /// The strategy registered under `name`, configured with `options`.
    ///
    /// - Throws: ``AttentionError/unknownStrategy(_:known:)``.
    public static func strategy(named name: String, options: StrategyOptions = .init()) throws -> any AttentionStrategy
    {
        guard let entry = all.first(where: { $0.name == name }) else {
            throw AttentionError.unknownStrategy(name, known: names)
        }
        return entry.make(options)
    }
}
