import ArgumentParser
import BenchHarness
import Foundation

@main
struct Attnbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attnbench",
        abstract: "Measure attention strategies on this CPU: time, memory and error against a float64 reference.",
        subcommands: [ListCommand.self, RunCommand.self, SweepCommand.self, CompareCommand.self, ABCommand.self, TuneCommand.self])

    /// Fixes OpenBLAS's kernels before anything runs (it may re-execute the
    /// program once), then runs the command. Errors are one line on stderr
    /// naming the flag or file; help goes to stdout as usual.
    static func main() {
        BLASEnvironment.prepareProcess(arguments: CommandLine.arguments)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)       // the command already said why
        } catch {
            if exitCode(for: error) == .success || error is CleanExit { exit(withError: error) }
            let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("attnbench: error: \(message)\n".utf8))
            let code = exitCode(for: error)
            Foundation.exit(code == .success ? 1 : code.rawValue)
        }
    }
}
