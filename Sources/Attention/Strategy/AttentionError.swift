/// Errors of the attention model and strategies. Each description is one line
/// that names what was wrong and what is allowed.
public enum AttentionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A size is zero or negative, or the heads do not group.
    case invalidShape(String)
    /// A mask pattern could not be parsed or does not fit the shape.
    case invalidPattern(String)
    /// The strategy cannot compute this pattern.
    case unsupportedPattern(strategy: String, pattern: String, supported: String)
    /// No strategy of that name is registered.
    case unknownStrategy(String, known: [String])
    /// A strategy cannot be registered under that name.
    case invalidStrategyName(String, reason: String)
    /// A caller-provided buffer has the wrong number of elements.
    case bufferSizeMismatch(String)
    /// A block layout file could not be read or is malformed.
    case invalidLayoutFile(path: String, line: Int?, reason: String)
    /// No tile kernel of that name is in ``KernelTable``.
    case unknownKernel(String, known: [String])
    /// The kernel exists but this CPU or build cannot run it.
    case kernelUnavailable(String, reason: String)
    /// The strategy does not compute this pass (the backward) for this problem.
    case unsupportedPass(strategy: String, pass: String, reason: String)

    public var description: String {
        switch self {
        case .invalidShape(let why): return "invalid shape: \(why)"
        case .invalidPattern(let why): return "invalid pattern: \(why)"
        case .unsupportedPattern(let strategy, let pattern, let supported):
            return "strategy '\(strategy)' does not support pattern '\(pattern)' (it supports: \(supported))"
        case .unknownStrategy(let name, let known):
            return "unknown strategy '\(name)' (known: \(known.joined(separator: ", ")))"
        case .invalidStrategyName(let name, let reason):
            return "cannot register strategy '\(name)': \(reason)"
        case .bufferSizeMismatch(let why): return "buffer size mismatch: \(why)"
        case .unknownKernel(let name, let known):
            return "unknown kernel '\(name)' (known: \(known.joined(separator: ", ")))"
        case .kernelUnavailable(let name, let reason):
            return "kernel '\(name)' cannot run here: \(reason) (see attnbench list)"
        case .unsupportedPass(let strategy, let pass, let reason):
            return "strategy '\(strategy)' has no \(pass) pass here: \(reason)"
        case .invalidLayoutFile(let path, let line, let reason):
            if let line { return "layout file '\(path)', line \(line): \(reason)" }
            return "layout file '\(path)': \(reason)"
        }
    }
}
