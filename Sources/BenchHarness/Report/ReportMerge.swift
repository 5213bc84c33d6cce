import Attention
import Foundation

/// Joins the reports of a sharded sweep (`sweep --shard K/N`) into one:
/// `attnbench merge OUT.csv SHARD.csv…`.
///
/// Each input is a CSV with its `.json` beside it; the `.json` says which
/// grid the shard belongs to (``SweepGrid`` and its fingerprint), which
/// shard it is, and where it ran. The merge checks:
/// - **one grid**: every input has the same grid fingerprint and shard
///   count, and each row is a case of that grid;
/// - **one machine and build**: the same CPU model, BLAS core, tile-kernel
///   table and commit. Different ones are refused unless `allowMixed`; then
///   the inputs are grouped by machine, each group is checked as a grid of
///   its own, and every row's `machine` cell names its group;
/// - **every case exactly once**: a case in two inputs with different
///   results is a *conflict* (identical rows, such as a file given twice,
///   count once); a case of the grid in no input is *missing*. The command
///   lists both and writes nothing on a conflict, nor with a case missing
///   unless `--partial`.
///
/// Rows come out in the grid's order (``SweepPlan/cases()``), so a complete
/// merge has the rows an unsharded sweep of the grid writes, in its order.
public struct ReportMerge {
    /// Where a report was measured: what `merge` requires to agree.
    public struct Origin: Hashable, Sendable, CustomStringConvertible {
        public var cpuModel: String
        public var blasCore: String
        /// The tile-kernel table: the default kernel and the ones that run.
        public var kernelDefault: String
        public var kernelsAvailable: [String]
        public var commit: String
        /// Whether the build had uncommitted changes: then its commit does not
        /// say what ran, and it matches no other build.
        public var dirty: Bool

        init(_ e: EnvironmentReport) {
            cpuModel = e.cpuModel
            blasCore = e.blasCore
            kernelDefault = e.kernelDefault ?? "?"
            kernelsAvailable = e.kernelsAvailable ?? []
            commit = e.gitCommit ?? "unknown"
            dirty = e.gitDirty ?? false
        }

        /// The commit, marked when the build had uncommitted changes.
        var build: String { commit.prefix(10) + (dirty ? " with uncommitted changes" : "") }

        var kernelTable: String { "default \(kernelDefault), runs \(kernelsAvailable.joined(separator: " "))" }

        /// The fields in which `other` differs, as `name 'this' vs 'other'`.
        func differences(from other: Origin) -> [String] {
            var out: [String] = []
            if cpuModel != other.cpuModel { out.append("CPU model '\(cpuModel)' vs '\(other.cpuModel)'") }
            if blasCore != other.blasCore { out.append("BLAS core '\(blasCore)' vs '\(other.blasCore)'") }
            if kernelTable != other.kernelTable {
                out.append("kernel table '\(kernelTable)' vs '\(other.kernelTable)'")
            }
            if commit != other.commit || dirty != other.dirty { out.append("commit \(build) vs \(other.build)") }
            return out
        }

        /// The `machine` cell: CPU model · BLAS core · default kernel · commit.
        public var description: String {
            "\(cpuModel) · \(blasCore) · \(kernelDefault) · \(commit.prefix(7))\(dirty ? "+dirty" : "")"
        }
    }

    /// One shard report as read.
    struct Input {
        var path: String
        /// The CSV's and the JSON's device and inode.
        var identities: [FileIdentity]
        var report: ReportFile
        var environment: EnvironmentReport
        var rawEnvironment: JSONValue
        var origin: Origin
        var shard: SweepShard
    }

    /// The cases of one machine's grid that no input has, and the shards
    /// none of the inputs is.
    public struct Gap: Sendable {
        public var machine: Origin
        public var missingShards: [Int]
        public var shardCount: Int
        public var missingCases: [CaseKey]
    }

    /// Why the inputs cannot be merged (exit 2).
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    public let inputs: [String]
    /// The merged rows, cells in ``ReportSchema/header`` order.
    public let rows: [[String]]
    public let gaps: [Gap]
    /// Cases given by more than one input with identical rows (counted once).
    public let repeatedIdentical: Int
    /// Cases given by more than one input with different results: a line
    /// each, naming the case and both places.
    public let conflicts: [String]
    /// The machine groups, in the order their first input was given.
    public let machines: [Origin]
    let groupInputs: [[Input]]

    /// Whether a case of some grid has no row.
    public var isIncomplete: Bool { gaps.contains { !$0.missingCases.isEmpty } }

    /// Reads and checks `paths` (see the type's documentation).
    ///
    /// - Throws: ``Refusal`` for inputs that cannot be merged;
    ///   ``ReportFile/ReadError`` for a CSV that is not a report.
    public init(paths: [String], allowMixed: Bool) throws {
        guard !paths.isEmpty else { throw Refusal(description: "give at least one shard report to merge") }
        let read = try paths.map(Self.read)
        // Group by machine and build.
        var origins: [Origin] = []
        var groups: [[Input]] = []
        for input in read {
            if let g = origins.firstIndex(of: input.origin) {
                groups[g].append(input)
            } else {
                origins.append(input.origin)
                groups.append([input])
            }
        }
        if origins.count > 1, !allowMixed {
            let first = groups[0][0], other = groups[1][0]
            throw Refusal(
                description:
                    "\(other.path) was measured elsewhere than \(first.path): \(first.origin.differences(from: other.origin).joined(separator: ", ")); pass --allow-mixed to merge them with a machine column"
            )
        }
        let label = origins.count > 1
        var rows: [[String]] = []
        var gaps: [Gap] = []
        var repeated = 0
        var conflicts: [String] = []
        for (origin, group) in zip(origins, groups) {
            let first = group[0]
            for input in group.dropFirst() {
                guard input.environment.gridFingerprint == first.environment.gridFingerprint else {
                    throw Refusal(
                        description:
                            "\(input.path) is a shard of another grid than \(first.path) (fingerprints \(input.environment.gridFingerprint ?? "none") and \(first.environment.gridFingerprint ?? "none")); merge shards of one sweep command"
                    )
                }
                guard input.shard.count == first.shard.count else {
                    throw Refusal(
                        description:
                            "\(input.path) is shard \(input.shard) but \(first.path) is shard \(first.shard): the grid was split differently"
                    )
                }
            }
            let plan = first.environment.grid!.plan
            let expected = try plan.cases().map(CaseKey.init)
            // Each shard is claimed by one report, and each report's rows are its shard's cases.
            var claimed: [Int: Input] = [:]
            var shardCases: [Int: Set<CaseKey>] = [:]
            for input in group {
                guard input.shard.index >= 0, input.shard.index < input.shard.count else {
                    throw Refusal(
                        description:
                            "\(input.path) claims shard \(input.shard), which a split into \(input.shard.count) does not have"
                    )
                }
                if let other = claimed[input.shard.index], other.identities != input.identities {
                    throw Refusal(
                        description:
                            "\(other.path) and \(input.path) both claim shard \(input.shard); each shard of a sweep is one report"
                    )
                }
                claimed[input.shard.index] = input
                if shardCases[input.shard.index] == nil {
                    shardCases[input.shard.index] = Set(try plan.cases(in: input.shard).cases.map(CaseKey.init))
                }
            }
            let order = Dictionary(expected.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            var chosen: [CaseKey: (row: [String: String], path: String, line: Int)] = [:]
            for input in group {
                for (row, line) in zip(input.report.rows, input.report.lines) {
                    guard var key = CaseKey(row: row) else {
                        throw Refusal(description: "\(input.path): row \(line) does not name a case")
                    }
                    key.machine = ""
                    guard order[key] != nil else {
                        throw Refusal(
                            description:
                                "\(input.path): row \(line) (\(key)) is not a case of its grid; was the report written by another sweep?"
                        )
                    }
                    guard shardCases[input.shard.index]?.contains(key) == true else {
                        throw Refusal(
                            description:
                                "\(input.path): row \(line) (\(key)) is a case of the grid but not of shard \(input.shard), which the report claims"
                        )
                    }
                    if let earlier = chosen[key] {
                        var a = earlier.row, b = row
                        a["finished_at"] = nil
                        b["finished_at"] = nil
                        if a == b {
                            repeated += 1
                        } else {
                            conflicts.append(
                                "\(key)\(label ? " on \(origin)" : ""): \(earlier.path) row \(earlier.line) and \(input.path) row \(line) differ"
                            )
                        }
                        continue
                    }
                    chosen[key] = (row, input.path, line)
                }
            }
            for key in expected {
                guard var row = chosen[key]?.row else { continue }
                if label { row["machine"] = origin.description }
                rows.append(ReportSchema.header.map { row[$0] ?? "" })
            }
            let present = Set(group.map(\.shard.index))
            gaps.append(
                Gap(
                    machine: origin, missingShards: (0 ..< first.shard.count).filter { !present.contains($0) },
                    shardCount: first.shard.count, missingCases: expected.filter { chosen[$0] == nil }))
        }
        self.inputs = paths
        self.rows = rows
        self.gaps = gaps
        self.repeatedIdentical = repeated
        self.conflicts = conflicts
        self.machines = origins
        self.groupInputs = groups
    }

    /// Reads a shard report and the `.json` beside it.
    static func read(_ path: String) throws -> Input {
        let report = try ReportFile(path: path)
        let envPath = SweepRunner.environmentPath(forReport: path)
        guard FileManager.default.fileExists(atPath: envPath) else {
            throw Refusal(
                description: "\(envPath): not found; merge needs each report's environment, written by sweep beside it")
        }
        let data: Data
        do { data = try InputFile.read(envPath, atMost: EnvironmentReport.maxBytes) } catch {
            throw Refusal(description: "\(error)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let environment: EnvironmentReport
        let raw: JSONValue
        do {
            environment = try decoder.decode(EnvironmentReport.self, from: data)
            raw = try decoder.decode(JSONValue.self, from: data)
        } catch {
            throw Refusal(description: "\(envPath): not the environment JSON of a sweep (\(error))")
        }
        guard environment.grid != nil, environment.gridFingerprint != nil else {
            throw Refusal(
                description:
                    "\(envPath): has no grid (written by an attnbench before sharding); merge joins reports of sweep --shard"
            )
        }
        return Input(
            path: path, identities: [path, envPath].compactMap(InputFile.identity(of:)), report: report,
            environment: environment, rawEnvironment: raw,
            origin: Origin(environment), shard: environment.shard ?? SweepShard(index: 0, count: 1))
    }

    /// Writes the merged CSV to `path` and its environment beside it: the
    /// first input's, without its shard, with every input listed under
    /// `merged_from` (path, shard, machine and its own `.json`).
    public func write(to path: String) throws {
        let envPath = SweepRunner.environmentPath(forReport: path)
        try OutputFile.checkReplaceable(path, createDirectory: true)
        try OutputFile.checkReplaceable(envPath, createDirectory: true)
        var environment = groupInputs[0][0].environment
        environment.shard = nil
        environment.shardPredictedSeconds = nil
        environment.earlierRuns = nil
        environment.commandLine = CommandLine.arguments
        environment.finishedAt = Date()
        if machines.count > 1 {
            environment.cpuModel = "mixed: " + machines.map(\.cpuModel).uniquedStrings().joined(separator: ", ")
            environment.blasCore = machines.map(\.blasCore).uniquedStrings().joined(separator: ", ")
        }
        environment.disturbedCases = groupInputs.joined().compactMap(\.environment.disturbedCases).reduce(0, +)
        environment.mergedFrom = groupInputs.joined().map { input in
            .object([
                "path": .string(input.path),
                "shard": .string(input.shard.description),
                "machine": .string(input.origin.description),
                "environment": input.rawEnvironment,
            ])
        }
        try ReportWriter.rewrite(path: path, rows: rows)
        try environment.write(to: envPath)
    }

    /// What was merged, and what is missing: lines for the terminal.
    public func summary(out: String) -> String {
        var lines: [String] = []
        for (gap, group) in zip(gaps, groupInputs) {
            let machine = machines.count > 1 ? " [\(gap.machine)]" : ""
            lines.append(
                "\(group.count) report(s) of \(gap.shardCount) shard(s)\(machine): "
                    + group.map { "\($0.path) (shard \($0.shard))" }.joined(separator: ", "))
            if !gap.missingShards.isEmpty {
                lines.append(
                    "missing shard(s): "
                        + gap.missingShards.map { "\($0)/\(gap.shardCount)" }.joined(separator: ", "))
            }
            if !gap.missingCases.isEmpty {
                lines.append("\(gap.missingCases.count) missing case(s):")
                lines += gap.missingCases.map { "  missing \($0)" }
            }
        }
        if !conflicts.isEmpty {
            lines.append("\(conflicts.count) case(s) duplicated with different results:")
            lines += conflicts.map { "  duplicated \($0)" }
        }
        if repeatedIdentical > 0 {
            lines.append("\(repeatedIdentical) case(s) given twice with identical rows, counted once")
        }
        lines.append("\(rows.count) row(s) for \(out)")
        return lines.joined(separator: "\n")
    }
}

extension Array where Element == String {
    fileprivate func uniquedStrings() -> [String] {
        var seen = Set<String>()
        return filter { seen.insert($0).inserted }
    }
}
