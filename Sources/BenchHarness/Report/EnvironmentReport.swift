import Attention
import Foundation

/// The JSON file written beside a sweep's CSV: what machine and software
/// produced the numbers, and how the sweep was invoked.
public struct EnvironmentReport: Codable, Sendable {
    public var schemaVersion = ReportSchema.version
    public var cpuModel: String
    public var cores: Int
    public var memoryBytes: Int
    public var os: String
    public var kernel: String
    public var swiftVersion: String
    public var blasConfig: String
    public var blasCore: String
    public var blasCoreChosenBy: String
    public var blasWarning: String
    public var threads: Int
    public var gitCommit: String?
    public var gitDirty: Bool?
    public var commandLine: [String]
    public var startedAt: Date
    public var finishedAt: Date?
    public var sgemmGflopsStart: Double?
    public var sgemmGflopsEnd: Double?
    /// The quick sgemm checks taken before each case, in order.
    public var sgemmGflopsChecks: [Double]?
    /// The rate rows are normalized by (``CalibrationLog/reference``).
    public var sgemmGflopsReference: Double?
    /// Set when the sgemm measurements disagree by more than 10%.
    public var calibrationWarning: String?
    /// Streaming read GB/s at the start and the end, the sweep-wide
    /// reference, and the quick checks before each case (each row's
    /// memory roof), with a warning when they disagree by more than 10%.
    public var readBandwidthGBpsStart: Double?
    public var readBandwidthGBpsEnd: Double?
    public var readBandwidthGBpsReference: Double?
    public var readBandwidthGBpsChecks: [Double]?
    public var bandwidthWarning: String?
    /// The compute roofs: each instruction's measured peak (``PeakCalibration``).
    public var computePeaks: [ComputePeakRecord]?
    public var computePeakWarning: String?
    /// Cases that ran while other processes or the hypervisor took a
    /// noticeable share of the machine (``Interference/isDisturbed``).
    public var disturbedCases: Int?
    public var memoryLimitBytes: Int
    public var timeoutSeconds: Double
    /// The CPU's vector extensions, the tile kernels this CPU and build can
    /// run, the default one, and the tuning file the cases read (if any).
    public var cpuFeatures: [String]?
    public var kernelsAvailable: [String]?
    public var kernelDefault: String?
    public var tuningFile: String?
    /// The program that ran the cases, when it is not the one that wrote
    /// this file (one side of an A/B run).
    public var binary: String?
    /// A name for that program given by the caller, for example a revision.
    public var label: String?
    /// The environments of the earlier runs of a resumed sweep, oldest
    /// first, as they were written: each part of the report keeps the
    /// machine and software it was measured with.
    public var earlierRuns: [JSONValue]?
    /// What defines the sweep's cases (``SweepPlan/grid``) and its
    /// fingerprint: `merge` joins only shards of one grid.
    public var grid: SweepGrid?
    public var gridFingerprint: String?
    /// Every grid that wrote the report, oldest first: a plain report
    /// extended with new cases by `--resume` with other flags.
    public var grids: [SweepGrid]?
    /// For `sweep --shard K/N`: which shard this report is, and the
    /// planner's predicted seconds of this shard and of every shard.
    public var shard: SweepShard?
    public var shardPredictedSeconds: [Double]?
    /// For a report written by `merge`: each input's path, shard and
    /// machine label, and the `.json` it had, as read.
    public var mergedFrom: [JSONValue]?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case cpuModel = "cpu_model"
        case cores
        case memoryBytes = "memory_bytes"
        case os, kernel
        case swiftVersion = "swift_version"
        case blasConfig = "blas_config"
        case blasCore = "blas_core"
        case blasCoreChosenBy = "blas_core_chosen_by"
        case blasWarning = "blas_warning"
        case threads
        case gitCommit = "git_commit"
        case gitDirty = "git_dirty"
        case commandLine = "command_line"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case sgemmGflopsStart = "sgemm_gflops_start"
        case sgemmGflopsEnd = "sgemm_gflops_end"
        case memoryLimitBytes = "memory_limit_bytes"
        case timeoutSeconds = "timeout_seconds"
        case sgemmGflopsChecks = "sgemm_gflops_checks"
        case sgemmGflopsReference = "sgemm_gflops_reference"
        case calibrationWarning = "calibration_warning"
        case readBandwidthGBpsStart = "read_bandwidth_gbps_start"
        case readBandwidthGBpsEnd = "read_bandwidth_gbps_end"
        case readBandwidthGBpsReference = "read_bandwidth_gbps_reference"
        case readBandwidthGBpsChecks = "read_bandwidth_gbps_checks"
        case bandwidthWarning = "bandwidth_warning"
        case computePeaks = "compute_peaks"
        case computePeakWarning = "compute_peak_warning"
        case disturbedCases = "disturbed_cases"
        case binary, label
        case cpuFeatures = "cpu_features"
        case kernelsAvailable = "kernels_available"
        case kernelDefault = "kernel_default"
        case tuningFile = "tuning_file"
        case earlierRuns = "earlier_runs"
        case grid
        case gridFingerprint = "grid_fingerprint"
        case grids
        case shard
        case shardPredictedSeconds = "shard_predicted_seconds"
        case mergedFrom = "merged_from"
    }

    /// The environments a resumed sweep must keep from the file at `path`:
    /// its earlier runs, then the file's own run; empty when there is no
    /// file. A file that is not JSON is an error rather than lost.
    public static func runsToKeep(at path: String) throws -> [JSONValue] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data = try InputFile.read(path, atMost: maxBytes)
        guard !data.isEmpty else { return [] }
        guard case .object(var run)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw OutputFile.Refused(
                path: path,
                reason: "is not the environment JSON of a sweep; --resume would lose it (move it away first)")
        }
        var earlier: [JSONValue] = []
        if case .array(let runs)? = run.removeValue(forKey: CodingKeys.earlierRuns.rawValue) { earlier = runs }
        return earlier + [.object(run)]
    }

    /// The largest environment file read: kilobytes each, nested when
    /// merged or resumed many times.
    public static let maxBytes = 64 << 20

    /// The environment at `path`, or nil when there is none or it is not
    /// one (``runsToKeep(at:)`` refuses that case first).
    public static func read(at path: String) throws -> EnvironmentReport? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try InputFile.read(path, atMost: maxBytes)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(EnvironmentReport.self, from: data)
    }

    /// Copies the sweep's read-bandwidth measurements in.
    public mutating func record(_ bandwidth: BandwidthLog) {
        readBandwidthGBpsStart = bandwidth.start
        readBandwidthGBpsEnd = bandwidth.end
        readBandwidthGBpsReference = bandwidth.reference
        readBandwidthGBpsChecks = bandwidth.checks
        bandwidthWarning = bandwidth.warning
    }

    /// Copies the sweep's compute-peak measurements in.
    public mutating func record(_ peaks: PeakLog, threads: Int) {
        computePeaks = peaks.reference.keys.sorted().map { i in
            ComputePeakRecord(
                instruction: i.rawValue, gflopsStart: peaks.start[i], gflopsEnd: peaks.end?[i],
                gflopsReference: peaks.reference[i]!, threads: threads, method: PeakCalibration.method)
        }
        computePeakWarning = peaks.warning
    }

    /// Copies the sweep's calibrations in.
    public mutating func record(_ calibration: CalibrationLog) {
        sgemmGflopsStart = calibration.start
        sgemmGflopsEnd = calibration.end
        sgemmGflopsChecks = calibration.checks
        sgemmGflopsReference = calibration.reference
        calibrationWarning = calibration.warning
    }

    /// Describes this process's machine now.
    public static func capture(threads: Int, memoryLimitBytes: Int, timeoutSeconds: Double) -> EnvironmentReport {
        let blas = BLASEnvironment.current()
        // The commit of the program's own checkout (it is built into its
        // .build folder), not of whatever folder it was started from: a job
        // array's tasks start in their own folders, and merge compares this.
        let source = sourceDirectory
        let commit = shell("git", ["-C", source, "rev-parse", "HEAD"])
        let dirty =
            commit == nil
            ? nil : !(shell("git", ["-C", source, "status", "--porcelain", "--untracked-files=no"]) ?? "").isEmpty
        let cpu = CPUFeatures.current()
        var report = EnvironmentReport(
            cpuModel: cpu.modelName, cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: ProcessMemory.physicalBytes, os: osName(), kernel: shell("uname", ["-srm"]) ?? "unknown",
            swiftVersion: swiftVersion(), blasConfig: blas.config, blasCore: blas.core,
            blasCoreChosenBy: blas.source, blasWarning: blas.warning, threads: threads,
            gitCommit: commit, gitDirty: dirty, commandLine: CommandLine.arguments, startedAt: Date(),
            memoryLimitBytes: memoryLimitBytes, timeoutSeconds: timeoutSeconds)
        report.cpuFeatures = cpu.vectorFlags
        report.kernelsAvailable = KernelTable.available.map { KernelTable.descriptor($0).name }
        report.kernelDefault = KernelTable.descriptor(KernelTable.defaultKernel).name
        return report
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try OutputFile.replace(path, with: try encoder.encode(self), createDirectory: true)
    }

    /// The folder of the running program, inside its checkout when it was
    /// built there.
    static var sourceDirectory: String {
        URL(fileURLWithPath: ChildProcess.currentExecutable).deletingLastPathComponent().path
    }

    static func osName() -> String {
        let text = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return ProcessInfo.processInfo.operatingSystemVersionString
    }

    /// The toolchain on PATH (the one `scripts/run.sh` builds with), and the
    /// language mode this binary was compiled by.
    static func swiftVersion() -> String {
        let toolchain =
            shell("swift", ["--version"])?.split(separator: "\n").first.map(String.init) ?? "swift not on PATH"
        #if compiler(>=6.3)
            return toolchain + "; built by a 6.3+ compiler"
        #else
            return toolchain + "; built by a compiler before 6.3"
        #endif
    }

    /// Runs a command, returning its trimmed stdout, or nil when it fails.
    static func shell(_ command: String, _ arguments: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [command] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// One instruction's measured peak in a report's environment.
public struct ComputePeakRecord: Codable, Sendable, Equatable {
    /// `fma-512`, `fma-256`, `fma-128`, `bf16-dot-512` (``PeakInstruction``).
    public var instruction: String
    public var gflopsStart: Double?
    public var gflopsEnd: Double?
    /// The rate rows are placed against: the higher of the two.
    public var gflopsReference: Double
    public var threads: Int
    public var method: String

    enum CodingKeys: String, CodingKey {
        case instruction
        case gflopsStart = "gflops_start"
        case gflopsEnd = "gflops_end"
        case gflopsReference = "gflops_reference"
        case threads, method
    }
}
