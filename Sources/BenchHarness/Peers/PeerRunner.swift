import Attention
import Foundation
import NumpyFormat
import Synchronization

/// Why a peer case did not produce a measurement.
public enum PeerError: Error, CustomStringConvertible, Equatable {
    /// The peer is not installed, or cannot run this case: an `unsupported` row.
    case unsupported(String)
    /// The peer started and broke: a `failed` row.
    case failed(String)
    /// The peer ran past the time limit and was killed: a `timeout` row.
    case timedOut(String)

    public var description: String {
        switch self {
        case .unsupported(let why), .failed(let why), .timedOut(let why): return why
        }
    }
}

/// Runs a peer on a case (docs/PEERS.md): writes the seeded inputs (and,
/// for a backward pass, dO) as `.npy`, starts the peer, reads back its
/// timings, memory and output (or gradients), and checks them against the
/// float64 reference, giving the same ``CaseResult`` a native strategy gives.
public enum PeerRunner {
    /// Seconds a probe may take before the peer is `unsupported`: `import
    /// torch` takes a few, a cold disk cache perhaps ten. An interpreter that
    /// hangs must not hang `list`, `run` or a sweep before its first case.
    /// `ATTNBENCH_PEER_PROBE_TIMEOUT` overrides it (tests use less).
    static var probeTimeout: Double {
        ProcessInfo.processInfo.environment["ATTNBENCH_PEER_PROBE_TIMEOUT"].flatMap(Double.init)
            .flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? 30
    }

    private static let probes = Mutex<[PeerCommand: Result<String, PeerError>]>([:])

    /// Whether `peer` can run here: its library's name and version, or why
    /// not. Probed once per process and command.
    public static func availability(_ peer: Peer) -> Result<String, PeerError> {
        if let known = probes.withLock({ $0[peer.command] }) { return known }
        let answer = probe(peer)
        probes.withLock { $0[peer.command] = answer }
        return answer
    }

    private static func probe(_ peer: Peer) -> Result<String, PeerError> {
        let c = peer.command
        guard c.script != nil else { return .failure(.unsupported("\(peer.name): \(c.missingScriptReason)")) }
        guard let interpreter = c.resolvedInterpreter else {
            return .failure(
                .unsupported(
                    "\(peer.name): interpreter \(c.interpreter) not found; install the peers with scripts/peers.sh or set ATTNBENCH_PEER_PYTHON"
                ))
        }
        switch ChildProcess.run(executable: interpreter, arguments: c.arguments("probe"), timeout: probeTimeout) {
        case .launchFailed(let why):
            return .failure(.unsupported("\(peer.name): could not start \(interpreter): \(why)"))
        case .timedOut(let s):
            return .failure(.unsupported(String(format: "\(peer.name): probe did not answer within %g s", s)))
        case .signaled(let signal, let stderr):
            return .failure(
                .unsupported("\(peer.name): probe killed by signal \(signal) \(PeerMessages.lastLine(stderr))"))
        case .finished(let status, let stdout, let stderr):
            guard status == 0,
                let probe = try? JSONDecoder().decode(PeerMessages.Probe.self, from: Data(lastJSONLine(stdout).utf8))
            else {
                return .failure(
                    .unsupported("\(peer.name): probe failed (exit \(status)): \(PeerMessages.lastLine(stderr))"))
            }
            guard probe.protocolVersion == PeerMessages.protocolVersion else {
                return .failure(
                    .unsupported(
                        "\(peer.name): speaks peer protocol \(probe.protocolVersion), attnbench \(PeerMessages.protocolVersion)"
                    ))
            }
            guard probe.available else {
                return .failure(.unsupported("\(peer.name) not available: \(probe.reason ?? "no reason given")"))
            }
            return .success(probe.library ?? "unknown library")
        }
    }

    /// Runs `config` on `peer`.
    ///
    /// - Parameters:
    ///   - inputs: the inputs to use (from `--inputs`), else the case's
    ///     seeded random inputs.
    ///   - saveOutput: where to write the output as `.npy`, if anywhere.
    ///   - timeout: seconds before the peer is killed.
    /// - Throws: ``PeerError`` for a case without a measurement; the
    ///   pattern's and the shape's own errors as a native case throws them.
    public static func run(
        _ config: CaseConfig, peer: Peer, inputs given: AttentionInputs? = nil, saveOutput: String? = nil,
        timeout: Double
    ) throws -> CaseResult {
        let pattern = try MaskPattern(parsing: config.pattern)
        guard peer.supports(pattern) else {
            throw PeerError.unsupported("\(peer.name) supports \(peer.supportedKindsDescription)")
        }
        if let why = peer.unavailability(of: config.pass, precision: config.precision) {
            throw PeerError.unsupported(why)
        }
        let library: String
        switch availability(peer) {
        case .failure(let e): throw e
        case .success(let l): library = l
        }
        let shape = config.shape
        let mask = try AttentionMask(pattern, shape: shape)
        let calibration = config.calibrate ? CaseRunner.Calibration.measure(threads: config.threads) : nil

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "attnbench-peer-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        let registration = ProcessSupervisor.shared.removeOnTermination(folder.path)
        defer {
            try? FileManager.default.removeItem(at: folder)
            ProcessSupervisor.shared.forget(registration)
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func file(_ name: String) -> String { folder.appendingPathComponent(name).path }

        let inputs = given ?? AttentionInputs.random(shape: shape, seed: config.seed, precision: config.precision)
        let qShape = [shape.batch, shape.heads, shape.queryLength, shape.headDim]
        let kShape = [shape.batch, shape.kvHeads, shape.keyLength, shape.headDim]
        // float32 files whatever the dtype: they hold the rounded values
        // exactly, and the request names the dtype the peer casts them to.
        try NumpyFile.write(inputs.query.toArray(), shape: qShape, to: file("q.npy"))
        try NumpyFile.write(inputs.key.toArray(), shape: kShape, to: file("k.npy"))
        try NumpyFile.write(inputs.value.toArray(), shape: kShape, to: file("v.npy"))
        if let l = mask.blockLayout {
            try NumpyFile.write(
                PeerMessages.layoutArray(l), shape: [l.queryBlocks, l.keyBlocks], to: file("layout.npy"))
        }
        // dO from the same stream of the seed the strategies use, so a peer's gradients are theirs to compare.
        let outputGradient =
            config.pass.hasBackward ? AttentionGradients.randomOutputGradient(shape: shape, seed: config.seed) : nil
        if let dO = outputGradient { try NumpyFile.write(dO.toArray(), shape: qShape, to: file("do.npy")) }
        let r = config.repetitions
        let request = PeerMessages.Request(
            shape: .init(
                batch: shape.batch, heads: shape.heads, kvHeads: shape.kvHeads, queryLength: shape.queryLength,
                keyLength: shape.keyLength, headDim: shape.headDim, scale: shape.scale),
            pattern: config.pattern, dtype: config.precision.rawValue,
            mask: PeerMessages.mask(mask, layoutPath: file("layout.npy")),
            query: file("q.npy"), key: file("k.npy"), value: file("v.npy"), output: file("out.npy"),
            threads: config.threads, verify: config.verify,
            repetitions: .init(warmup: r.warmup, minReps: r.minReps, maxReps: r.maxReps, minTime: r.minTime),
            pass: config.pass.rawValue, outputGradient: outputGradient == nil ? nil : file("do.npy"),
            gradients: outputGradient == nil
                ? nil : .init(query: file("dq.npy"), key: file("dk.npy"), value: file("dv.npy")))
        try JSONEncoder().encode(request).write(to: URL(fileURLWithPath: file("request.json")))

        let reply = try exchange(peer, request: file("request.json"), timeout: timeout, threads: config.threads)
        var (times, memory) = try checked(reply, peer: peer, policy: r, pass: config.pass)
        if config.pass.hasBackward {
            (memory.savedBytes, memory.gradientBytes) = CaseRunner.trainingTensorBytes(config)
        }

        var verification: VerificationResult?
        let produced: NumpyArray
        do { produced = try NumpyFile.read(path: file("out.npy")) } catch {
            throw PeerError.failed("\(peer.name): no readable output: \(error)")
        }
        guard produced.shape == qShape else {
            throw PeerError.failed("\(peer.name): output shape \(produced.shape), expected \(qShape)")
        }
        // Rounding is exact: the peer's output is its dtype's values, widened.
        let output = Tensor(produced.values, precision: config.precision)
        if config.verify, let dO = outputGradient {
            func gradient(_ name: String, _ expected: [Int]) throws -> Tensor {
                let array: NumpyArray
                do { array = try NumpyFile.read(path: file(name)) } catch {
                    throw PeerError.failed("\(peer.name): no readable gradient \(name): \(error)")
                }
                guard array.shape == expected else {
                    throw PeerError.failed(
                        "\(peer.name): gradient \(name) has shape \(array.shape), expected \(expected)")
                }
                return Tensor(array.values)
            }
            let gradients = AttentionGradients(
                query: try gradient("dq.npy", qShape), key: try gradient("dk.npy", kShape),
                value: try gradient("dv.npy", kShape))
            verification = Verification.verifyGradients(inputs, mask: mask, outputGradient: dO, gradients: gradients)
        } else if config.verify {
            let unrounded =
                given == nil && config.precision != .f32 ? AttentionInputs.random(shape: shape, seed: config.seed) : nil
            verification = Verification.verify(inputs, mask: mask, output: output, unrounded: unrounded)
        }
        if let path = saveOutput { try TensorFiles.save(output, shape: shape, to: path) }

        return try CaseRunner.result(
            config, mask: mask, times: times,
            memory: memory,
            predictedExtraBytes: peer.predictedExtraBytes(config, mask: mask),
            verification: verification,
            execution: StrategyExecution(kernel: "\(reply.library ?? library) \(reply.kernel ?? peer.name)", tile: nil),
            kernelChoice: "peer", calibration: calibration?.after(),
            blas: BLASEnvironment(
                core: "\(library.split(separator: " ").first ?? "peer"): \(reply.blas ?? "its own")", config: library,
                source: "peer", warning: ""))
    }

    /// The times and memory readings of an `ok` reply, checked as untrusted
    /// input: a reply in another protocol version or of another pass than
    /// `pass` (a peer that ignores the request's pass), a time that is not a
    /// finite positive number, fewer or more timed runs than `policy`
    /// allows, or a byte count that is negative or beyond the machine's
    /// memory fails the case with the reason, rather than becoming a row
    /// with a negative median or infinite rates.
    static func checked(_ reply: PeerMessages.Reply, peer: Peer, policy: RepetitionPolicy, pass: Pass) throws -> (
        [Double], CaseRunner.MemoryReading
    ) {
        func fail(_ why: String) -> PeerError { .failed("\(peer.name): its reply \(why)") }
        guard reply.protocolVersion == PeerMessages.protocolVersion else {
            throw fail(
                "speaks peer protocol \(reply.protocolVersion); attnbench speaks \(PeerMessages.protocolVersion)")
        }
        let timed = reply.pass ?? Pass.forward.rawValue
        guard timed == pass.rawValue else {
            throw fail("timed the \(timed) pass; the request asked for the \(pass) pass")
        }
        guard let times = reply.timesMs, let before = reply.rssBeforeInputsBytes,
            let with = reply.rssWithInputsBytes, let peak = reply.peakRssBytes
        else { throw fail("lacks times_ms or the memory readings") }
        guard (policy.minReps ... policy.maxReps).contains(times.count) else {
            throw fail(
                "has \(times.count) timed runs; the repetition policy asks for \(policy.minReps) to \(policy.maxReps)")
        }
        if let bad = times.first(where: { !($0.isFinite && $0 > 0) }) {
            throw fail("has a time of \(bad) ms; every time must be a finite number above 0")
        }
        let processPeak = reply.processPeakRssBytes ?? peak
        let limit = ProcessMemory.physicalBytes
        for (name, v) in [
            ("rss_before_inputs_bytes", before), ("rss_with_inputs_bytes", with), ("peak_rss_bytes", peak),
            ("process_peak_rss_bytes", processPeak),
        ] where !(v > 0 && v <= limit) {
            throw fail("has \(name) \(v); a resident set is above 0 and at most the machine's \(Bytes.format(limit))")
        }
        return (
            times,
            .init(
                rssBeforeInputs: before, rssWithInputs: with, peak: peak, processPeak: processPeak,
                peakWasReset: reply.peakWasReset ?? false)
        )
    }

    /// Starts the peer on a request and decodes its reply.
    private static func exchange(_ peer: Peer, request: String, timeout: Double, threads: Int) throws
        -> PeerMessages.Reply
    {
        let c = peer.command
        guard let interpreter = c.resolvedInterpreter else {
            throw PeerError.unsupported("\(peer.name): interpreter \(c.interpreter) not found")
        }
        // The peer's thread pools follow the case's threads from the start.
        let env = ["OMP_NUM_THREADS": "\(threads)", "MKL_NUM_THREADS": "\(threads)"]
        switch ChildProcess.run(
            executable: interpreter, arguments: c.arguments("run", [request]), timeout: timeout, environment: env)
        {
        case .launchFailed(let why):
            throw PeerError.failed("could not start \(interpreter): \(why)")
        case .timedOut(let seconds):
            throw PeerError.timedOut(String(format: "killed after --timeout %g s", seconds))
        case .signaled(let signal, let stderr):
            let hint = signal == SIGKILL ? " (the kernel's out-of-memory killer sends this)" : ""
            let last = PeerMessages.lastLine(stderr)
            throw PeerError.failed("\(peer.name) killed by signal \(signal)\(hint)" + (last.isEmpty ? "" : ": \(last)"))
        case .finished(let status, let stdout, let stderr):
            let last = PeerMessages.lastLine(stderr)
            guard status == 0 else {
                throw PeerError.failed("\(peer.name) exit status \(status)" + (last.isEmpty ? "" : ": \(last)"))
            }
            guard let reply = try? JSONDecoder().decode(PeerMessages.Reply.self, from: Data(lastJSONLine(stdout).utf8))
            else {
                throw PeerError.failed(
                    "\(peer.name) printed no peer-protocol reply" + (last.isEmpty ? "" : ": \(last)"))
            }
            switch reply.status {
            case "ok": return reply
            case "unsupported": throw PeerError.unsupported("\(peer.name): \(reply.reason ?? "unsupported case")")
            default: throw PeerError.failed("\(peer.name): status \(reply.status): \(reply.reason ?? "")")
            }
        }
    }

    /// The last line of `stdout` that looks like a JSON object: libraries
    /// may print before the reply.
    static func lastJSONLine(_ stdout: String) -> String {
        stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }).map(String.init) ?? ""
    }
}
