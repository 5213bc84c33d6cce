/// Which (query i, key j) pairs attention may use, as the user names it.
///
/// A pattern is a description; ``AttentionMask`` resolves it against a
/// shape (block layouts need the lengths, files need reading). Query row `i`
/// sits at key position `p(i) = i + Nk − Nq` (bottom-right alignment, as in
/// FlashAttention), so with `Nq == Nk` it is `i` and in decoding the last
/// query sees every key.
///
/// | syntax | pairs attended |
/// | --- | --- |
/// | `full` | all |
/// | `causal` | `j ≤ p(i)` |
/// | `window:W` | `p(i) − W ≤ j ≤ p(i) + W` |
/// | `window:L:R` | `p(i) − L ≤ j ≤ p(i) + R` (`R = 0` is a causal window) |
/// | `…:gG` suffix on a window | plus the first `G` positions: keys `j < G` are attended by every query, queries with `0 ≤ p(i) < G` attend every key; in a causal window both stay limited to `j ≤ p(i)` |
/// | `bigbird:B[:wW][:gG][:rR][:sS][:causal]` | BigBird blocks of `B` (see ``BlockLayout/bigBird(queryLength:keyLength:blockSize:windowBlocks:globalBlocks:randomBlocks:seed:causal:)``) |
/// | `fixed:B:STRIDE[:causal]` | Sparse Transformer "fixed" blocks |
/// | `layout:FILE[:causal]` | a block layout read from FILE (see ``BlockLayout/parse(_:path:)``) |
public enum MaskPattern: Hashable, Sendable {
    case full
    case causal
    case window(Window)
    case bigBird(BigBird)
    case fixed(Fixed)
    case layoutFile(path: String, causal: Bool)
    /// An explicit layout, for programs and tests.
    case layout(BlockLayout)

    /// A band around the diagonal plus optional global tokens.
    public struct Window: Hashable, Sendable {
        public var left: Int
        public var right: Int
        public var globalTokens: Int
        public init(left: Int, right: Int, globalTokens: Int = 0) {
            self.left = left
            self.right = right
            self.globalTokens = globalTokens
        }
        /// A window with no look-ahead: global tokens then respect causality too.
        public var isCausal: Bool { right == 0 }
    }

    /// BigBird's block pattern: window, global and random blocks.
    public struct BigBird: Hashable, Sendable {
        public var blockSize: Int
        public var windowBlocks = 3
        public var globalBlocks = 1
        public var randomBlocks = 3
        public var seed: UInt64 = 0
        public var causal = false
        public init(
            blockSize: Int, windowBlocks: Int = 3, globalBlocks: Int = 1,
            randomBlocks: Int = 3, seed: UInt64 = 0, causal: Bool = false
        ) {
            self.blockSize = blockSize
            self.windowBlocks = windowBlocks
            self.globalBlocks = globalBlocks
            self.randomBlocks = randomBlocks
            self.seed = seed
            self.causal = causal
        }
    }

    /// The Sparse Transformer's "fixed" pattern.
    public struct Fixed: Hashable, Sendable {
        public var blockSize: Int
        public var stride: Int
        public var causal = false
        public init(blockSize: Int, stride: Int, causal: Bool = false) {
            self.blockSize = blockSize
            self.stride = stride
            self.causal = causal
        }
    }

    /// The pattern's family, which is what strategies declare support for.
    public enum Kind: String, CaseIterable, Sendable {
        case full, causal, window, blocks
    }

    public var kind: Kind {
        switch self {
        case .full: return .full
        case .causal: return .causal
        case .window: return .window
        case .bigBird, .fixed, .layoutFile, .layout: return .blocks
        }
    }
}

extension MaskPattern: CustomStringConvertible {
    /// The command-line spelling; `MaskPattern(parsing: p.description) == p`
    /// for every pattern but an explicit `.layout`.
    public var description: String {
        switch self {
        case .full: return "full"
        case .causal: return "causal"
        case .window(let w):
            var s = w.left == w.right ? "window:\(w.left)" : "window:\(w.left):\(w.right)"
            if w.globalTokens > 0 { s += ":g\(w.globalTokens)" }
            return s
        case .bigBird(let b):
            var s = "bigbird:\(b.blockSize)"
            if b.windowBlocks != 3 { s += ":w\(b.windowBlocks)" }
            if b.globalBlocks != 1 { s += ":g\(b.globalBlocks)" }
            if b.randomBlocks != 3 { s += ":r\(b.randomBlocks)" }
            if b.seed != 0 { s += ":s\(b.seed)" }
            return b.causal ? s + ":causal" : s
        case .fixed(let f):
            return "fixed:\(f.blockSize):\(f.stride)" + (f.causal ? ":causal" : "")
        case .layoutFile(let path, let causal):
            return "layout:\(path)" + (causal ? ":causal" : "")
        case .layout(let l):
            return "layout(\(l.queryBlocks)x\(l.keyBlocks) blocks of \(l.blockSize))" + (l.causal ? ":causal" : "")
        }
    }
}

extension MaskPattern {
    /// The syntax summary used in error messages and `--help`.
    public static let syntaxHelp =
        "full, causal, window:W, window:LEFT:RIGHT (optional :gG global tokens), "
        + "bigbird:B[:wW][:gG][:rR][:sSEED][:causal], fixed:B:STRIDE[:causal], layout:FILE[:causal]"

    /// Parses the command-line spelling (see the type's table).
    ///
    /// - Throws: ``AttentionError/invalidPattern(_:)`` naming the text and
    ///   what is allowed.
    public init(parsing text: String) throws {
        func fail(_ why: String) -> AttentionError {
            .invalidPattern("'\(text)': \(why); allowed: \(MaskPattern.syntaxHelp)")
        }
        func count(_ s: Substring, _ what: String, min: Int) throws -> Int {
            guard let v = Int(s), v >= min else { throw fail("\(what) must be an integer ≥ \(min), got '\(s)'") }
            return v
        }
        var parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let head = parts.first else { throw fail("empty pattern") }
        var causal = false
        if parts.count > 1, parts.last == "causal" {
            causal = true
            parts.removeLast()
        }
        let args = parts.dropFirst()

        switch head {
        case "full" where parts.count == 1 && !causal: self = .full
        case "causal" where parts.count == 1: self = .causal
        case "window":
            if causal { throw fail("a causal window is window:LEFT:0") }
            var numbers: [Int] = []
            var global = 0
            for a in args {
                if a.hasPrefix("g") {
                    global = try count(a.dropFirst(), "global tokens", min: 0)
                } else {
                    guard global == 0 else { throw fail("the :gG suffix comes last") }
                    numbers.append(try count(a, "window extent", min: 0))
                }
            }
            switch numbers.count {
            case 1: self = .window(Window(left: numbers[0], right: numbers[0], globalTokens: global))
            case 2: self = .window(Window(left: numbers[0], right: numbers[1], globalTokens: global))
            default: throw fail("a window takes one extent (W) or two (LEFT:RIGHT)")
            }
        case "bigbird":
            guard let first = args.first else { throw fail("bigbird needs a block size") }
            var b = BigBird(blockSize: try count(first, "block size", min: 1), causal: causal)
            for a in args.dropFirst() {
                let v = a.dropFirst()
                switch a.first {
                case "w": b.windowBlocks = try count(v, "window blocks", min: 0)
                case "g": b.globalBlocks = try count(v, "global blocks", min: 0)
                case "r": b.randomBlocks = try count(v, "random blocks", min: 0)
                case "s":
                    guard let s = UInt64(v) else { throw fail("seed must be a non-negative integer, got '\(v)'") }
                    b.seed = s
                default: throw fail("unknown bigbird option '\(a)' (use wN, gN, rN, sN, causal)")
                }
            }
            self = .bigBird(b)
        case "fixed":
            guard args.count == 2 else { throw fail("fixed takes a block size and a stride: fixed:B:STRIDE") }
            self = .fixed(
                Fixed(
                    blockSize: try count(args.first!, "block size", min: 1),
                    stride: try count(args.last!, "stride", min: 1), causal: causal))
        case "layout":
            let path = args.joined(separator: ":")
            guard !path.isEmpty else { throw fail("layout needs a file: layout:FILE") }
            self = .layoutFile(path: path, causal: causal)
        default:
            throw fail("unknown pattern")
        }
    }
}
