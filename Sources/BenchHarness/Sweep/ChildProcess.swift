import Foundation

/// Runs one case in a fresh child process (this executable, `run --format
/// json`), so a case's memory never leaks into the next and a crash or an
/// out-of-memory kill ends only that case.
public enum ChildProcess {
    public enum Outcome: Sendable {
        case finished(status: Int32, stdout: String, stderr: String)
        case signaled(signal: Int32, stderr: String)
        case timedOut(seconds: Double)
        case launchFailed(String)
    }

    /// Runs `executable arguments…`, killing it after `timeout` seconds;
    /// `environment` adds to (or overrides) this process's environment.
    public static func run(
        executable: String, arguments: [String], timeout: Double, environment extra: [String: String] = [:]
    ) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["ATTNBENCH_QUIET_BLAS"] = "1"  // the parent already reported the kernels
        env.merge(extra) { _, new in new }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return .launchFailed("\(error)") }

        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        let stdoutBox = DataBox(), stderrBox = DataBox()
        for (pipe, box) in [(out, stdoutBox), (err, stderrBox)] {
            group.enter()
            DispatchQueue.global().async {
                box.data = pipe.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
        }
        let watch = Watchdog()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { watch.expire(pid) }
        process.waitUntilExit()
        let timedOut = watch.finish()
        group.wait()
        let stdout = String(decoding: stdoutBox.data, as: UTF8.self)
        let stderr = String(decoding: stderrBox.data, as: UTF8.self)
        if timedOut { return .timedOut(seconds: timeout) }
        if process.terminationReason == .uncaughtSignal {
            return .signaled(signal: process.terminationStatus, stderr: stderr)
        }
        return .finished(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// The path of this executable, for re-invoking it.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

private final class DataBox: @unchecked Sendable { var data = Data() }

/// Kills the child when the time is up, unless it has already been reaped
/// (its pid could then belong to another process).
private final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var fired = false

    func expire(_ pid: Int32) {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        fired = true
        kill(pid, SIGKILL)
    }

    /// Marks the child reaped; returns whether the watchdog killed it.
    func finish() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        done = true
        return fired
    }
}
