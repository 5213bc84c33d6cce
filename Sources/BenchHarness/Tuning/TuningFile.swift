import Attention
import Foundation
import Synchronization

/// What `attnbench tune` measured fastest on one machine, like FFTW's
/// wisdom: for each strategy, head dim and pattern, the tile kernel and the
/// tile. `run` and `sweep` read it (``TuningFile/defaultPath``, or
/// `--tuning FILE`) and use a choice when nothing on the command line says
/// otherwise.
///
/// A file applies only on the machine kind that made it: the same CPU model
/// and the same available kernels (a build for another CPU, or another CPU,
/// has other ones). Elsewhere it is ignored, with a warning.
public struct TuningFile: Codable, Sendable, Equatable {
    public var schemaVersion = 1
    public var cpuModel: String
    /// The kernels this CPU and build could run when the file was made.
    public var kernelsAvailable: [String]
    public var threads: Int
    public var createdAt: Date
    public var entries: [Entry]

    /// One tuned problem family.
    public struct Entry: Codable, Sendable, Equatable {
        public var strategy: String
        public var headDim: Int
        /// The pattern measured, command-line syntax.
        public var pattern: String
        /// Its family (`full`, `causal`, `window`, `blocks`).
        public var patternKind: String
        /// The length measured.
        public var seqLen: Int
        /// The precision measured; nil (files from before the precision
        /// axis) is f32.
        public var dtype: Precision?
        /// The pass measured; nil (files from before the pass axis) is the forward.
        public var pass: Pass?
        public var kernel: KernelID
        public var tile: TileSize
        /// The winner's time, and the time of the default choice, in ms.
        public var bestMs: Double
        public var defaultMs: Double?
        /// Every candidate measured, fastest first.
        public var candidates: [Candidate]

        public init(
            strategy: String, headDim: Int, pattern: String, patternKind: String, seqLen: Int,
            dtype: Precision = .f32, pass: Pass = .forward, kernel: KernelID, tile: TileSize, bestMs: Double,
            defaultMs: Double?, candidates: [Candidate]
        ) {
            self.dtype = dtype
            self.pass = pass
            self.strategy = strategy
            self.headDim = headDim
            self.pattern = pattern
            self.patternKind = patternKind
            self.seqLen = seqLen
            self.kernel = kernel
            self.tile = tile
            self.bestMs = bestMs
            self.defaultMs = defaultMs
            self.candidates = candidates
        }
    }

    public struct Candidate: Codable, Sendable, Equatable {
        public var kernel: KernelID
        public var tile: TileSize
        public var ms: Double

        public init(kernel: KernelID, tile: TileSize, ms: Double) {
            self.kernel = kernel
            self.tile = tile
            self.ms = ms
        }
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case cpuModel = "cpu_model"
        case kernelsAvailable = "kernels_available"
        case threads
        case createdAt = "created_at"
        case entries
    }

    public init(cpuModel: String, kernelsAvailable: [String], threads: Int, createdAt: Date = Date(), entries: [Entry])
    {
        self.cpuModel = cpuModel
        self.kernelsAvailable = kernelsAvailable
        self.threads = threads
        self.createdAt = createdAt
        self.entries = entries
    }

    /// Where `tune` writes and `run`/`sweep` look when no `--tuning` is
    /// given: `$ATTNBENCH_TUNING`, else `$XDG_CACHE_HOME/attnbench/tuning.json`,
    /// else `~/.cache/attnbench/tuning.json`. `ATTNBENCH_TUNING=none` means
    /// no default file (``TuningSource/defaultLocation`` then uses none).
    public static var defaultPath: String {
        let env = ProcessInfo.processInfo.environment
        if let path = env["ATTNBENCH_TUNING"], !path.isEmpty { return path }
        let cache =
            env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
        return (cache as NSString).appendingPathComponent("attnbench/tuning.json")
    }

    /// The kernels of this CPU and build, as names.
    static var kernelsHere: [String] { KernelTable.available.map { KernelTable.descriptor($0).name } }

    /// Why the file does not apply on this machine, or nil when it does.
    public var mismatch: String? {
        let here = CPUFeatures.current().modelName
        if cpuModel != here { return "it was made on '\(cpuModel)', this CPU is '\(here)'" }
        if kernelsAvailable != Self.kernelsHere {
            return
                "it was made where the kernels \(kernelsAvailable.joined(separator: ", ")) could run; here: \(Self.kernelsHere.joined(separator: ", "))"
        }
        return nil
    }

    /// The tuned kernel and tile for a case: from the entry of the same
    /// strategy, head dim, precision, pass and pattern; failing that, only
    /// the kernel of an entry of the same pattern family (a tile tuned for
    /// one window does not fit another). Winners are per precision, as a
    /// half case moves half the bytes, and per pass, as the backward's
    /// transposed tiles hold five products to the forward's two: in both
    /// another tile may win.
    public func choice(
        strategy: String, headDim: Int, pattern: MaskPattern, precision: Precision = .f32, pass: Pass = .forward
    ) -> (kernel: KernelID, tile: TileSize?)? {
        let mine = entries.filter {
            $0.strategy == strategy && $0.headDim == headDim && ($0.dtype ?? .f32) == precision
                && ($0.pass ?? .forward) == pass
        }
        if let e = mine.first(where: { $0.pattern == pattern.description }) { return (e.kernel, e.tile) }
        if let e = mine.first(where: { $0.patternKind == pattern.kind.rawValue }) { return (e.kernel, nil) }
        return nil
    }

    /// Why a tuning file cannot be used, naming it and where its path came from.
    public struct LoadError: Error, CustomStringConvertible {
        public var path: String
        /// `--tuning`, `ATTNBENCH_TUNING` or `the default location`; nil when unknown.
        public var source: String?
        public var reason: String

        public var description: String {
            "tuning file '\(path)'" + (source.map { " (from \($0))" } ?? "") + ": \(reason)"
        }
    }

    /// The largest file read: a tuning file holds a few entries per
    /// strategy, pattern and head dim; anything near this is not one.
    static let maxBytes = 16 << 20

    /// Reads the file at `path` and checks every entry (``problems``).
    ///
    /// - Throws: ``LoadError`` naming the file, and the entry when one is
    ///   wrong, when it cannot be read or is not a valid tuning file.
    public static func load(path: String) throws -> TuningFile {
        let data: Data
        do { data = try InputFile.read(path, atMost: maxBytes) } catch let e as OutputFile.Refused {
            throw LoadError(path: path, reason: e.reason)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let file: TuningFile
        do { file = try decoder.decode(TuningFile.self, from: data) } catch {
            throw LoadError(
                path: path, reason: "not a tuning file written by attnbench tune (\(CaseExecutor.brief(error)))")
        }
        if let problem = file.problems.first {
            throw LoadError(path: path, reason: problem)
        }
        return file
    }

    /// What is wrong with the file's contents, entry by entry: every value
    /// is checked as a command-line flag would be, since a file can be
    /// edited or cut short. Empty for a valid file.
    public var problems: [String] {
        var found: [String] = []
        if schemaVersion != 1 { found.append("schema_version \(schemaVersion); this attnbench reads version 1") }
        if threads < 1 { found.append("threads \(threads) must be at least 1") }
        for (n, e) in entries.enumerated() {
            func problem(_ text: String) {
                found.append("entry \(n + 1) (\(e.strategy) \(e.pattern) d=\(e.headDim)): \(text)")
            }
            guard let strategy = try? StrategyRegistry.strategy(named: e.strategy) else {
                problem("unknown strategy '\(e.strategy)' (known: \(StrategyRegistry.names.joined(separator: ", ")))")
                continue
            }
            if strategy.tileKernel == nil { problem("\(e.strategy) has no tile kernel to tune") }
            if e.headDim < 1 { problem("head_dim must be at least 1") }
            if e.seqLen < 1 { problem("seq_len must be at least 1") }
            if let pattern = try? MaskPattern(parsing: e.pattern) {
                if pattern.kind.rawValue != e.patternKind {
                    problem(
                        "pattern_kind '\(e.patternKind)' is not the kind of '\(e.pattern)' (\(pattern.kind.rawValue))")
                }
                if !strategy.supports(pattern) { problem("\(e.strategy) does not support '\(e.pattern)'") }
            } else {
                problem("pattern '\(e.pattern.prefix(40))' does not parse")
            }
            if !(e.bestMs.isFinite && e.bestMs > 0) { problem("best_ms must be a positive number") }
        }
        return found
    }

    /// Writes the file, creating its directory; what may be at `path` is
    /// ``OutputFile``'s rule.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try OutputFile.replace(path, with: try encoder.encode(self), createDirectory: true)
    }
}

/// Which tuning file a process uses: the one named with `--tuning`, none
/// (`--tuning none`), or the default location when a file is there.
public enum TuningSource: Sendable, Equatable {
    case defaultLocation
    case file(String)
    case none

    /// `none`, or a path.
    public init(flag: String?) {
        switch flag {
        case nil: self = .defaultLocation
        case "none": self = .none
        case let path?: self = .file(path)
        }
    }

    /// The `--tuning` value that reproduces this choice in a child process.
    public var flag: String? {
        switch self {
        case .defaultLocation: return nil
        case .none: return "none"
        case .file(let path): return path
        }
    }
}

/// Loads tuning files once per process and says once why one is ignored.
public enum TuningCache {
    private static let cache = Mutex<[String: TuningFile?]>([:])

    /// The tuning file `source` names if it applies here; nil otherwise.
    ///
    /// - Throws: ``TuningFile/LoadError`` naming the file and where its
    ///   path came from, when a file is there but cannot be read or is not
    ///   valid, from any source (a missing file at the default location is
    ///   simply no tuning).
    public static func file(for source: TuningSource) throws -> (path: String, file: TuningFile)? {
        let path: String
        let origin: String
        switch source {
        case .none: return nil
        case .file(let p): (path, origin) = (p, "--tuning")
        case .defaultLocation:
            path = TuningFile.defaultPath
            guard path != "none", FileManager.default.fileExists(atPath: path) else { return nil }
            let fromVariable = !(ProcessInfo.processInfo.environment["ATTNBENCH_TUNING"] ?? "").isEmpty
            origin = fromVariable ? "ATTNBENCH_TUNING" : "the default location"
        }
        if let cached = cache.withLock({ $0[path] }) { return cached.map { (path, $0) } }
        let loaded: TuningFile
        do { loaded = try TuningFile.load(path: path) } catch var e as TuningFile.LoadError {
            e.source = origin
            throw e
        }
        var usable: TuningFile? = loaded
        if let why = loaded.mismatch {
            usable = nil
            FileHandle.standardError.write(
                Data("attnbench: warning: ignoring the tuning file \(path): \(why); run attnbench tune here\n".utf8))
        }
        cache.withLock { $0[path] = usable }
        return usable.map { (path, $0) }
    }
}
