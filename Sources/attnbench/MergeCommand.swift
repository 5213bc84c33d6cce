import ArgumentParser
import BenchHarness
import Foundation

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the reports of a sharded sweep (sweep --shard K/N) into one report.",
        discussion: """
            Checks that the shards describe one grid, measured with one commit, CPU model, BLAS core and \
            kernel table, and lists the cases that are missing or duplicated. Exit 0 when merged, 1 when \
            cases are missing (nothing written unless --partial), 2 when the reports cannot be merged.
            """)

    @Argument(help: "The merged report to write (its environment goes beside it as .json).")
    var out: String

    @Argument(help: "The shard reports (each with its .json beside it).")
    var shards: [String] = []

    @Flag(
        name: .customLong("allow-mixed"),
        help:
            "Merge reports from different machines or builds: each group must be complete, and a machine column names each row's origin."
    )
    var allowMixed = false

    @Flag(help: "Write the report even when cases are missing (they are listed).")
    var partial = false

    func validate() throws {
        if !out.hasSuffix(".csv") { throw ValidationError("OUT must name a .csv file, got '\(out)'") }
        if shards.isEmpty { throw ValidationError("give the shard reports to merge after OUT") }
        // The same file under another name (a link, another spelling) is the same file.
        let outputs = [out, SweepRunner.environmentPath(forReport: out)].compactMap(InputFile.identity(of:))
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        for shard in shards {
            let inputs = [shard, SweepRunner.environmentPath(forReport: shard)].compactMap(InputFile.identity(of:))
            if !Set(outputs).isDisjoint(with: inputs) || absolute(shard) == absolute(out) {
                throw ValidationError("OUT \(out) is also an input (\(shard)); write the merged report elsewhere")
            }
        }
    }

    func run() throws {
        // One writer per report: a sweep still writing OUT keeps it.
        let lock: ReportLock
        do { lock = try ReportLock(report: out) } catch {
            printError("OUT \(error)")
            throw ExitCode(2)
        }
        defer { lock.release() }
        let merge: ReportMerge
        do { merge = try ReportMerge(paths: shards, allowMixed: allowMixed) } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        print(merge.summary(out: out))
        if !merge.conflicts.isEmpty {
            printError(
                "\(merge.conflicts.count) case(s) appear in two reports with different results (listed above); nothing written"
            )
            throw ExitCode(2)
        }
        let missing = merge.gaps.map(\.missingCases.count).reduce(0, +)
        if missing > 0, !partial {
            printError(
                "\(missing) case(s) of the grid are missing (listed above); pass --partial to write without them")
            throw ExitCode(1)
        }
        do { try merge.write(to: out) } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        print("report: \(out)\nenvironment: \(SweepRunner.environmentPath(forReport: out))")
    }
}
