import ArgumentParser
import Attention
import BenchHarness
import Foundation
import Synchronization

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract:
            "List the strategies, the peers (PyTorch, run as child processes) and whether they are installed, the pattern families each supports, and the tile kernels this CPU and build can run."
    )

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
        printPeers(nameWidth: width)
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

    /// The peers and whether each can run here; probed side by side, since
    /// each probe starts an interpreter and imports its library.
    private func printPeers(nameWidth: Int) {
        let peers = PeerRegistry.all
        let answers = Mutex([Int: Result<String, PeerError>]())
        DispatchQueue.concurrentPerform(iterations: peers.count) { i in
            let answer = PeerRunner.availability(peers[i])
            answers.withLock { $0[i] = answer }
        }
        let found = answers.withLock { $0 }
        print("\npeers (run as child processes; docs/PEERS.md; install with scripts/peers.sh):")
        let width = max(nameWidth, peers.map(\.name.count).max() ?? 0)
        for (i, peer) in peers.enumerated() {
            let status: String
            switch found[i] {
            case .success(let library)?: status = "available (\(library))"
            case .failure(let why)?: status = "not available: \(why.description)"
            case nil: status = "not probed"
            }
            print(
                "\(peer.name.padding(toLength: width, withPad: " ", startingAt: 0))  patterns: \(peer.supportedKindsDescription); \(status)"
            )
            print(String(repeating: " ", count: width + 2) + peer.summary)
        }
    }
}
