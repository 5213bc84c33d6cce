import Attention
import ArgumentParser

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the strategies and the pattern families each supports.")

    func run() throws {
        let strategies = StrategyRegistry.all.map { $0.make(StrategyOptions()) }
        let width = strategies.map(\.name.count).max() ?? 0
        for s in strategies {
            let name = s.name.padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(name)  patterns: \(s.supportedKindsDescription)")
            print(String(repeating: " ", count: width + 2) + s.summary)
        }
        print("\npattern syntax: \(MaskPattern.syntaxHelp)")
    }
}

import Foundation
