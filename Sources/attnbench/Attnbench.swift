import ArgumentParser
import BenchHarness
import Foundation

@main
struct Attnbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attnbench",
        abstract: "Measure attention strategies on this CPU: time, memory and error against a float64 reference.",
        subcommands: [
            ListCommand.self, RunCommand.self, SweepCommand.self, MergeCommand.self, CompareCommand.self,
            ABCommand.self,
            TuneCommand.self,
        ])

    /// Fixes OpenBLAS's kernels before anything runs (it may re-execute the
    /// program once), makes SIGINT, SIGTERM and SIGHUP end this process's
    /// children and temporary files with it (``ProcessSupervisor``), then
    /// runs the command. Errors are one line on stderr naming the flag or
    /// file; help goes to stdout as usual.
    static func main() {
        ChildProcess.adoptParentDeathSignal()
        BLASEnvironment.prepareProcess(arguments: CommandLine.arguments)
        ProcessSupervisor.shared.installTerminationHandlers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)  // the command already said why
        } catch {
            if exitCode(for: error) == .success || error is CleanExit { exit(withError: error) }
            printError(Self.message(for: error))
            let code = exitCode(for: error)
            Foundation.exit(code == .success ? 1 : code.rawValue)
        }
    }
}

/// Prints `message` as the one `attnbench: error:` line on stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("attnbench: error: \(oneLine(message))\n".utf8))
}

/// The first line of `message`, cut at 300 characters: an error quotes a
/// user's input, which may be one enormous line.
func oneLine(_ message: String) -> String {
    let first = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? message
    return first.count <= 300 ? first : first.prefix(300) + "… (\(first.count - 300) more characters)"
}
