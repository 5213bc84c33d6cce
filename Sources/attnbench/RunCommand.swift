import ArgumentParser
import Attention
import BenchHarness
import Foundation
import NumpyFormat

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Time one strategy on one problem, optionally checking it against the float64 reference.")

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(
        parsing: .unconditional,
        help:
            "Strategy: \(StrategyRegistry.names.joined(separator: ", ")); or a peer: \(PeerRegistry.names.joined(separator: ", ")).",
        transform: parseStrategyName)
    var strategy: String = StrategyRegistry.names[0]

    @OptionGroup var shape: ShapeOptions
    @OptionGroup var execution: ExecutionOptions

    @Option(parsing: .unconditional, help: "Mask pattern: \(MaskPattern.syntaxHelp).", transform: parsePattern)
    var pattern: MaskPattern = .full

    @Option(
        parsing: .unconditional, help: "Tile ROWSxCOLUMNS for blockwise strategies (e.g. 64x256).", transform: parseTile
    )
    var tile: TileSize?

    @Option(
        parsing: .unconditional,
        help:
            "Storage of Q, K, V and O: f32, f16 or bf16 (accumulation is f32; random inputs are the f32 draws rounded to nearest even).",
        transform: { try parsePrecisions($0, flag: "--dtype").onlyElement(flag: "--dtype") })
    var dtype: Precision = .f32

    @OptionGroup var kernelOptions: KernelOptions

    @Option(
        parsing: .unconditional,
        help:
            "The pass timed: forward, backward (dQ, dK, dV from a seeded dO; the forward that saves O and the row log-sum-exp runs once, untimed) or both (f32 only; useful FLOPs 1×, 2.5×, 3.5× the forward's).",
        transform: { try parsePass($0) })
    var pass: Pass = .forward

    @Option(
        name: .customLong("reps"), parsing: .unconditional,
        help: "Timed repetitions, a fixed count (default 10; or use --min-reps, --max-reps and --min-time).")
    var repsFlag: Int?
    var reps: Int { repsFlag ?? 10 }

    @OptionGroup var repetition: RepetitionOptions

    @Option(
        parsing: .unconditional,
        help:
            "Q, K, V from .npy files Q,K,V ([B, heads, N, d], float16, bfloat16 as ml_dtypes saves it, float32 or float64), rounded to --dtype; the shape comes from the files."
    )
    var inputs: String?

    @Option(
        name: .customLong("save-output"), parsing: .unconditional,
        help:
            "Write the output O as a [B, H, Nq, d] .npy file: <f4 for f32, <f2 for f16, <f4 holding the bf16 values for bf16."
    )
    var saveOutput: String?

    @Flag(help: "Compare the output with the float64 reference (a documented row sample for large problems).")
    var verify = false

    @Flag(
        help:
            "Measure the compute peak of each FMA width, cblas_sgemm (2048³) and the streaming read bandwidth (same threads) first, the bandwidth again after, and report the case against both roofs."
    )
    var calibrate = false

    @Option(parsing: .unconditional, help: "Output format: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        if reps < 1 { throw ValidationError("--reps must be at least 1, got \(reps)") }
        if repsFlag != nil, repetition.minReps != nil || repetition.maxReps != nil || repetition.minTime != nil {
            throw ValidationError(
                "--reps sets a fixed count; it does not combine with --min-reps, --max-reps or --min-time")
        }
        if PeerRegistry.peer(named: strategy) != nil {
            if tile != nil || kernelOptions.kernel != nil {
                throw ValidationError(
                    "--\(tile != nil ? "tile" : "kernel") does not apply to \(strategy): it is a peer, run as its own program"
                )
            }
        } else if (try? StrategyRegistry.strategy(named: strategy))?.tileKernel == nil {
            if tile != nil { throw ValidationError("--tile does not apply to \(strategy): it has no tiles") }
            if kernelOptions.kernel != nil {
                throw ValidationError(
                    "--kernel does not apply to \(strategy): its products are whole-matrix OpenBLAS calls")
            }
        }
        if let files = inputs {
            if files.split(separator: ",").count != 3 {
                throw ValidationError("--inputs takes three .npy files separated by commas: Q,K,V")
            }
            let given = [
                ("--seq-len", shape.seqLen), ("--kv-len", shape.kvLen), ("--kv-heads", shape.layout.kvHeads),
                ("--heads", shape.layout.headsFlag), ("--batch", shape.layout.batchFlag),
                ("--head-dim", shape.headDimFlag),
            ].filter { $0.1 != nil }.map(\.0)
            if !given.isEmpty {
                throw ValidationError("--inputs takes the shape from the files; drop \(given.joined(separator: ", "))")
            }
        }
        if let path = saveOutput {
            // Checked before the case runs, so a bad path does not cost the run.
            do { try OutputFile.checkReplaceable(path) } catch let e as OutputFile.Refused {
                throw ValidationError("--save-output \(e.description)")
            }
        }
        if inputs == nil, shape.seqLen == nil {
            throw ValidationError("--seq-len is required (the query length, at least 1), or --inputs Q,K,V")
        }
    }

    /// `--reps` unless any of `--min-reps`, `--max-reps`, `--min-time` is given.
    var repetitionPolicy: RepetitionPolicy {
        guard repetition.minReps != nil || repetition.maxReps != nil || repetition.minTime != nil else {
            return .fixed(warmup: execution.warmup, reps: reps)
        }
        return repetition.policy(warmup: execution.warmup)
    }

    /// The case the flags name; `shape` (the `--inputs` files') replaces
    /// the one the shape flags give.
    func caseConfig(shape given: AttentionShape? = nil) throws -> CaseConfig {
        CaseConfig(
            strategy: strategy, tile: tile?.description, kernel: kernelOptions.kernel?.rawValue,
            tuning: kernelOptions.tuning, shape: try given ?? shape.shape(queryLength: shape.seqLen!),
            pattern: pattern.description, precision: dtype, threads: execution.threads, seed: execution.seed,
            repetitions: repetitionPolicy, verify: verify, calibrate: calibrate, pass: pass)
    }

    func run() throws {
        var loaded: AttentionInputs?
        let rssBeforeInputs = ProcessMemory.residentBytes()
        if let files = inputs?.split(separator: ",").map(String.init) {
            do {
                loaded = try TensorFiles.load(query: files[0], key: files[1], value: files[2], precision: dtype)
            } catch {
                throw ValidationError("--inputs \(error)")
            }
        }
        let config = try caseConfig(shape: loaded?.shape)
        let result: CaseResult
        do {
            result = try CaseRunner.run(
                config, inputs: loaded, rssBeforeInputs: loaded == nil ? nil : rssBeforeInputs,
                saveOutput: saveOutput)
        } catch let e as AttentionError {
            throw ValidationError(e.description)
        } catch let e as NumpyFileError {
            throw ValidationError("--save-output \(e.description)")
        } catch let e as CaseError {
            throw ValidationError(e.description)
        } catch let e as TuningFile.LoadError {
            throw ValidationError(e.description)
        } catch let e as PeerError {
            // The flags were fine; the case could not be measured: exit 1, not the usage code.
            printError("--strategy \(strategy): \(e.description)")
            throw ExitCode(1)
        }
        switch format {
        case .json: print(try JSONOutput.encode(result))
        case .text: print(TextReport.describe(result))
        }
        if let v = result.verification, let n = v.nonFiniteOutputs, n > 0 {
            printError("--verify: \(VerificationResult.nonFiniteReason(n))")
            throw ExitCode(1)
        }
        if let v = result.verification, !v.passes {
            let message = String(
                format:
                    "--verify: output differs from the reference beyond tolerance (max abs %.3g, limit %.0e; rel Frobenius %.3g, limit %.0e)",
                v.maxAbsoluteError, VerificationResult.absoluteTolerance,
                v.relativeFrobeniusError, VerificationResult.relativeTolerance)
            printError(message)
            throw ExitCode(1)
        }
    }
}

enum JSONOutput {
    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try JSONCoding.encoder().encode(value), as: UTF8.self)
    }
}

enum TextReport {
    static func describe(_ r: CaseResult) -> String {
        let c = r.config
        var lines = [
            "strategy   \(c.strategy)" + (c.tile.map { " (tile \($0))" } ?? ""),
            "problem    \(c.shape), pattern \(c.pattern), density \(String(format: "%.4f", r.density))"
                + (c.pass == .forward ? "" : ", \(c.pass) pass"),
            r.kernelChoice == "peer"
                ? "threads    \(c.threads); a peer in its own process"
                : "threads    \(c.threads); OpenBLAS \(r.blas.core) kernels (chosen by \(r.blas.source))",
            "kernel     " + (r.execution.map { $0.kernel + ($0.tile.map { ", tile \($0)" } ?? "") } ?? "?")
                + (r.kernelChoice.map { " (\($0))" } ?? ""),
            String(
                format: "time       median %.3f ms, min %.3f ms over %d reps (%d warm-up)",
                r.statistics.median, r.statistics.min, r.statistics.count, c.repetitions.warmup),
            String(
                format: "useful     %.1f GFLOP/s (4·B·H·d per attended pair%@), %.0f tokens/s",
                r.usefulGflops,
                c.pass == .forward ? "" : String(format: ", ×%.1f for the %@ pass", c.pass.flopFactor, c.pass.rawValue),
                r.tokensPerSecond),
            "memory     peak extra \(Bytes.format(r.peakExtraBytes)) (predicted \(Bytes.format(r.predictedExtraBytes))), inputs+output \(Bytes.format(r.inputBytes))"
                + (r.savedBytes.map { ", saved O and L \(Bytes.format($0))" } ?? "")
                + (r.gradientBytes.map { ", gradients and dO \(Bytes.format($0))" } ?? ""),
        ]
        if let rate = r.sgemmGflops, let f = r.fractionOfSgemm {
            lines.append(
                String(
                    format:
                        "sgemm      %.1f GFLOP/s (2048³, same threads, this process; a reference, not a roof): the case runs at %.0f%% of it",
                    rate, f * 100))
        }
        let measured = (r.computePeaks ?? [:]).compactMap { k, v in PeakInstruction(rawValue: k).map { ($0, v) } }
        let peaks = Dictionary(uniqueKeysWithValues: measured)
        let instruction = PeakInstruction.forResult(r, available: Array(peaks.keys))
        let peak = instruction.flatMap { peaks[$0] }
        if let instruction, let peak {
            lines.append(
                String(
                    format:
                        "peak       %.1f GFLOP/s (%@, same threads, measured here; %@): the case runs at %.0f%% of it",
                    peak, instruction.rawValue,
                    peaks.keys.sorted().map { String(format: "%@ %.1f", $0.rawValue, peaks[$0]!) }.joined(
                        separator: ", "),
                    r.usefulGflops / peak * 100))
        }
        if let roofline = r.roofline {
            let seconds = r.statistics.median * 1e-3
            var line = String(
                format: "roofline   %@ moved at least, %.2f FLOP/B, %.1f GB/s", Bytes.format(roofline.minimumBytes),
                roofline.intensity, roofline.achievedGBps(seconds: seconds))
            var warnings: [String] = []
            if let before = r.readBandwidthGBps, let peak {
                // The higher of the two: interference only ever lowers a streaming read.
                let after = r.readBandwidthAfterGBps ?? before
                let bandwidth = max(before, after)
                let place = roofline.placement(seconds: seconds, peakGflops: peak, bandwidthGBps: bandwidth)
                line += String(
                    format:
                        " = %.0f%% of the read bandwidth (%.1f GB/s: the higher of %.1f before and %.1f after the case, same threads); %@-bound, %.0f%% of its roof",
                    place.fractionOfBandwidth * 100, bandwidth, before, after, place.bound, place.fractionOfRoof * 100)
                let moved = abs(before - after) / bandwidth
                if moved > CalibrationLog.tolerance {
                    warnings.append(
                        String(
                            format:
                                "the read bandwidth moved by %.0f%% between before and after the case (tolerance %.0f%%): the host's neighbours took some; the fraction is uncertain by that much",
                            moved * 100, CalibrationLog.tolerance * 100))
                }
                if let note = roofline.cacheResidentNote(
                    place, cacheBytes: BandwidthCalibration.lastLevelCacheBytes)
                {
                    warnings.append(note)
                } else if place.fractionOfBandwidth > 1 {
                    warnings.append(
                        String(
                            format:
                                "the case read %.1f GB/s, more than the bandwidth measured before and after it: the bandwidth moved while it ran, so %.0f%% is not a clean fraction; run it again",
                            place.achievedGBps, place.fractionOfBandwidth * 100))
                }
            }
            lines.append(line)
            lines += warnings.map { "warning    \($0)" }
        }
        if let v = r.verification {
            lines.append(
                String(
                    format: "verify     max abs %.3g (tolerance %.2g), rel Frobenius %.3g (tolerance %.2g) over %@: %@",
                    v.maxAbsoluteError, v.absoluteLimit, v.relativeFrobeniusError, v.relativeLimit, v.coverage,
                    v.passes ? "OK" : "WRONG"))
            if let storage = v.storageRelativeError, let rounding = v.roundingRelativeError {
                lines.append(
                    String(
                        format:
                            "precision  %@ costs %.3g relative against the unrounded f32 problem; rounding Q, K, V alone costs %.3g (%.2fx)",
                        r.config.precision.rawValue, storage, rounding, storage / rounding))
            }
        }
        if !r.blas.warning.isEmpty, r.kernelChoice != "peer" { lines.append("warning    \(r.blas.warning)") }
        return lines.joined(separator: "\n")
    }
}
