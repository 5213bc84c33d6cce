import Attention
import Foundation

/// Runs one admitted case, in a fresh child process of `executable`
/// (`run … --format json`) or in this process, and reports how it ended
/// together with the interference it met.
///
/// The child is any program that answers `run` with these flags as
/// attnbench does: the sweep passes itself, an A/B run passes two builds.
public struct CaseExecutor: Sendable {
    public var executable: String
    public var inProcess: Bool
    /// Seconds a child may run before it is killed.
    public var timeout: Double

    public init(executable: String, inProcess: Bool, timeout: Double) {
        self.executable = executable
        self.inProcess = inProcess
        self.timeout = timeout
    }

    public enum Outcome: Sendable {
        case measured(CaseResult)
        case failed(String)
        case timedOut(String)
        /// The case cannot run here (a peer that is not installed or lacks the pattern).
        case unsupported(String)

        public var isMeasured: Bool {
            if case .measured = self { return true }
            return false
        }
    }

    /// Runs `config`; the interference covers the whole child (or call).
    public func execute(_ config: CaseConfig) -> (outcome: Outcome, interference: Interference?) {
        let probe = InterferenceProbe.start()
        // A peer is a child process already, started from here so that the
        // time limit kills the peer itself.
        let peer = PeerRegistry.peer(named: config.strategy)
        let outcome = peer.map { runPeer(config, $0) } ?? (inProcess ? runHere(config) : runChild(config))
        return (outcome, probe.finish())
    }

    private func runHere(_ config: CaseConfig) -> Outcome {
        do { return .measured(try CaseRunner.run(config)) } catch { return .failed("\(error)") }
    }

    private func runPeer(_ config: CaseConfig, _ peer: Peer) -> Outcome {
        do { return .measured(try PeerRunner.run(config, peer: peer, timeout: timeout)) } catch let e as PeerError {
            switch e {
            case .unsupported(let why): return .unsupported(why)
            case .failed(let why): return .failed(why)
            case .timedOut(let why): return .timedOut(why)
            }
        } catch { return .failed("\(error)") }
    }

    private func runChild(_ config: CaseConfig) -> Outcome {
        switch ChildProcess.run(executable: executable, arguments: Self.childArguments(config), timeout: timeout) {
        case .launchFailed(let why):
            return .failed("could not start \(executable): \(why)")
        case .timedOut(let seconds):
            return .timedOut(String(format: "killed after --timeout %g s", seconds))
        case .signaled(let signal, let stderr):
            let hint = signal == SIGKILL ? " (the kernel's out-of-memory killer sends this)" : ""
            return .failed("killed by signal \(signal)\(hint)" + Self.lastLine(stderr, prefix: ": "))
        case .finished(let status, let stdout, let stderr):
            do {
                return .measured(try JSONCoding.decoder().decode(CaseResult.self, from: Data(stdout.utf8)))
            } catch {
                if status != 0 || stdout.isEmpty {
                    return .failed("exit status \(status)" + Self.lastLine(stderr, prefix: ": "))
                }
                return .failed(
                    "exit status \(status), but its report is not the JSON this attnbench reads (\(Self.brief(error)))")
            }
        }
    }

    /// The `attnbench run` arguments that reproduce `config` in a child.
    /// Only flags that `run --format json` has understood since its JSON took
    /// this form (commit 59a75f2) are passed, so an older build can be the
    /// baseline of an A/B run.
    public static func childArguments(_ c: CaseConfig) -> [String] {
        var args =
            ["run"] + CaseKey(c).runArguments + [
                "--seed", "\(c.seed)", "--warmup", "\(c.repetitions.warmup)",
                "--min-reps", "\(c.repetitions.minReps)", "--max-reps", "\(c.repetitions.maxReps)",
                "--min-time", "\(c.repetitions.minTime)", "--format", "json",
            ]
        if c.verify { args.append("--verify") }
        // Newer flags only when asked for, so that older builds still answer.
        if let k = c.kernel { args += ["--kernel", k] }
        if let t = c.tuning { args += ["--tuning", t] }
        return args
    }

    /// One line about a decoding error.
    static func brief(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            return context.debugDescription
        default: return "\(error)"
        }
    }

    /// The last non-empty line of `text`, without attnbench's error prefix.
    static func lastLine(_ text: String, prefix: String) -> String {
        guard let line = text.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
        else { return "" }
        return prefix + line.replacingOccurrences(of: "attnbench: error: ", with: "")
    }
}
