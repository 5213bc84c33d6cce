import Attention
import Foundation
import Synchronization

/// An attention implementation outside this package, measured by the same
/// harness as a native strategy: run as a child process that speaks the peer
/// protocol (docs/PEERS.md), fed the same seeded inputs, timed under the same
/// repetition policy, its peak memory taken the same way and its output
/// checked against the same float64 reference.
///
/// A peer is named like a strategy (`--strategy torch-sdpa`) and its rows
/// share the report's schema; its `kernel` column names the library and the
/// path it took, and its `kernel_choice` is `peer`.
public struct Peer: Sendable {
    /// The name used by `--strategy` and in reports: lowercase letters,
    /// digits and `-`, distinct from every native strategy.
    public var name: String
    /// One line for `attnbench list`.
    public var summary: String
    /// The pattern families the peer computes; others give `unsupported` rows.
    public var supportedKinds: Set<MaskPattern.Kind>
    /// Whether the peer computes a score for every (query, key) pair, as a
    /// materialized path does, rather than only the attended ones; the
    /// sweep's time model counts its work from it.
    public var computesEveryPair: Bool
    /// How to start it.
    public var command: PeerCommand
    /// Resident memory of the peer's process before any input is loaded
    /// (the interpreter and its libraries), added to the planner's
    /// prediction when admitting a case.
    public var processOverheadBytes: Int
    /// The working memory a forward pass is predicted to take beyond the
    /// inputs and the output, with `threads` workers and tensors in
    /// `precision`: a planning estimate for `--memory-limit`, not a measurement.
    public var predictedExtraBytes:
        @Sendable (_ shape: AttentionShape, _ mask: AttentionMask, _ threads: Int, _ precision: Precision) -> Int
    /// The passes the peer times (``Pass``); a case of another pass is `unsupported`.
    public var passes: Set<Pass>
    /// The working memory a backward pass is predicted to take beyond the
    /// inputs, the output, what the forward saved and the gradients
    /// (``CaseRunner/trainingBytes(_:)``), float32, with `threads` workers.
    public var predictedBackwardExtraBytes:
        @Sendable (_ shape: AttentionShape, _ mask: AttentionMask, _ threads: Int) -> Int
    /// Seconds a case spends before its first timed run beyond what it
    /// computes: starting the interpreter, importing the library, compiling
    /// (``CaseCost``).
    public var predictedStartupSeconds: Double

    public init(
        name: String, summary: String, supportedKinds: Set<MaskPattern.Kind>, computesEveryPair: Bool,
        command: PeerCommand, processOverheadBytes: Int = 0,
        predictedExtraBytes: @escaping @Sendable (AttentionShape, AttentionMask, Int, Precision) -> Int = {
            _, _, _, _ in 0
        },
        passes: Set<Pass> = [.forward],
        predictedBackwardExtraBytes: @escaping @Sendable (AttentionShape, AttentionMask, Int) -> Int = { _, _, _ in 0 },
        predictedStartupSeconds: Double = 1
    ) {
        self.name = name
        self.summary = summary
        self.supportedKinds = supportedKinds
        self.computesEveryPair = computesEveryPair
        self.command = command
        self.processOverheadBytes = processOverheadBytes
        self.predictedExtraBytes = predictedExtraBytes
        self.passes = passes
        self.predictedBackwardExtraBytes = predictedBackwardExtraBytes
        self.predictedStartupSeconds = predictedStartupSeconds
    }

    public func supports(_ pattern: MaskPattern) -> Bool { supportedKinds.contains(pattern.kind) }

    /// The supported families in a stable order, for messages and listings.
    public var supportedKindsDescription: String {
        MaskPattern.Kind.allCases.filter(supportedKinds.contains).map(\.rawValue).joined(separator: ", ")
    }

    /// Why the peer cannot time `pass` in `precision`, or nil when it can.
    /// Gradients are verified against the float32 tolerances, so a peer's
    /// backward takes f32, as the strategies' does.
    public func unavailability(of pass: Pass, precision: Precision) -> String? {
        guard passes.contains(pass) else {
            let timed = Pass.allCases.filter(passes.contains).map(\.rawValue).joined(separator: " and ")
            return "\(name) times the \(timed) pass only, not \(pass)"
        }
        if pass.hasBackward, precision != .f32 {
            return "\(name): the backward pass takes f32 inputs, not \(precision)"
        }
        return nil
    }

    /// The predicted working memory of `config`'s pass; with both passes
    /// the forward's and the backward's together.
    public func predictedExtraBytes(_ config: CaseConfig, mask: AttentionMask) -> Int {
        config.pass.extraBytes(
            forward: predictedExtraBytes(config.shape, mask, config.threads, config.precision),
            backward: predictedBackwardExtraBytes(config.shape, mask, config.threads))
    }

    /// The pairs a forward pass computes, per (batch, head): Nq·Nk for a
    /// materialized path, the attended pairs otherwise.
    public func computedPairs(_ mask: AttentionMask) -> Int {
        computesEveryPair ? mask.queryLength * mask.keyLength : mask.attendedPairs
    }
}

/// The program a peer runs: `interpreter script arguments… probe|run …`.
public struct PeerCommand: Sendable, Hashable {
    /// An executable path, or a bare name looked up on `PATH`.
    public var interpreter: String
    /// The script's path, or nil when it could not be found (the reason is
    /// ``missingScriptReason``).
    public var script: String?
    /// Arguments between the script and the command (`--backend sdpa`).
    public var arguments: [String]
    /// Why ``script`` is nil.
    public var missingScriptReason: String

    public init(interpreter: String, script: String?, arguments: [String], missingScriptReason: String = "") {
        self.interpreter = interpreter
        self.script = script
        self.arguments = arguments
        self.missingScriptReason = missingScriptReason
    }

    /// ``interpreter`` as a path: itself when it contains `/`, else the
    /// first executable of that name on `PATH`; nil when there is none.
    public var resolvedInterpreter: String? {
        let fm = FileManager.default
        if interpreter.contains("/") { return fm.isExecutableFile(atPath: interpreter) ? interpreter : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(interpreter)" }.first(where: fm.isExecutableFile(atPath:))
    }

    /// The argument vector after the interpreter, for `command` and its operands.
    func arguments(_ command: String, _ operands: [String] = []) -> [String] {
        [script ?? ""] + arguments + [command] + operands
    }
}

/// Every peer the suite knows: the PyTorch, ONNX Runtime, OpenVINO and ggml peers, then any
/// registered at run time (tests register fake ones).
public enum PeerRegistry {
    private static let registered = Mutex<[Peer]>([])

    /// The peers of `scripts/peers/` (one module per library: `torch_peer.py`,
    /// `ort_peer.py`, `openvino_peer.py`, `ggml_peer.py`), run under ``PeerLocation/interpreter``.
    public static var builtIn: [Peer] { TorchPeers.all + OnnxRuntimePeers.all + OpenVinoPeers.all + GgmlPeers.all }

    /// Adds `peer` for this process, replacing a registered peer of the same
    /// name (a built-in or native name is refused).
    ///
    /// - Throws: ``AttentionError/invalidStrategyName(_:reason:)``.
    public static func register(_ peer: Peer) throws {
        guard !peer.name.isEmpty,
            peer.name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" })
        else { throw AttentionError.invalidStrategyName(peer.name, reason: "use lowercase letters, digits and '-'") }
        guard !StrategyRegistry.names.contains(peer.name), !builtIn.contains(where: { $0.name == peer.name }) else {
            throw AttentionError.invalidStrategyName(peer.name, reason: "a strategy or built-in peer has that name")
        }
        registered.withLock { list in
            list.removeAll { $0.name == peer.name }
            list.append(peer)
        }
    }

    /// The built-in peers, then the registered ones.
    public static var all: [Peer] { builtIn + registered.withLock { $0 } }

    public static var names: [String] { all.map(\.name) }

    /// The peer named `name`, or nil (a native strategy or an unknown name).
    public static func peer(named name: String) -> Peer? { all.first { $0.name == name } }
}
