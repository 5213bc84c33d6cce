import ArgumentParser
import Attention
import Foundation

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract:
            "List the strategies, the pattern families each supports, and the tile kernels this CPU and build can run.")

    @Flag(
        name: .customLong("kernels"),
        help: "Only print the names of the tile kernels this CPU and build can run, the default first, one per line.")
    var kernelsOnly = false

    func run() throws {
        if kernelsOnly {
            let ids = [KernelTable.defaultKernel] + KernelTable.available.filter { $0 != KernelTable.defaultKernel }
            for id in ids { print(KernelTable.descriptor(id).name) }
            return
        }
        let strategies = StrategyRegistry.all.map { $0.make(StrategyOptions()) }
        let width = strategies.map(\.name.count).max() ?? 0
        for s in strategies {
            let name = s.name.padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(name)  patterns: \(s.supportedKindsDescription)")
            print(String(repeating: " ", count: width + 2) + s.summary)
        }
        print("\npattern syntax: \(MaskPattern.syntaxHelp)")
        print("\ntile kernels (--kernel NAME; * the default here):")
        let rows = KernelTable.all.map { k -> [String] in
            let why = KernelTable.unavailability(k.id)
            return [
                (k.id == KernelTable.defaultKernel ? "* " : "  ") + k.name,
                k.vectorFloats > 0 ? "\(k.vectorFloats) floats" : "-",
                why == nil ? "yes" : "no: \(why!)",
                "tiled \(k.tiledTile), sliding \(k.slidingRows) rows, block-sparse \(k.blockSparseColumns) columns",
                k.requires,
            ]
        }
        let header = ["kernel", "vector", "runs here", "default tiles", "needs"]
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max()! }
        for row in [header] + rows {
            print(
                "  "
                    + zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(
                        separator: "  "))
        }
        print("\nregister budgets:")
        for k in KernelTable.all { print("  \(k.name): \(k.registerBudget)") }
    }
}
