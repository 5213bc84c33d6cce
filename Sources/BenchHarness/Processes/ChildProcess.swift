import CProcessControl
import Foundation
import Glibc

/// Runs a program as a child process whose whole process group ends with it.
///
/// A case runs in a fresh child (this executable's `run --format json`, or a
/// peer's interpreter), so a case's memory never leaks into the next and a
/// crash or an out-of-memory kill ends only that case. The contract:
/// - the child leads a new process group, registered with
///   ``ProcessSupervisor`` while it lives, so a terminated sweep ends it;
/// - when the child exits, or the time limit passes, the whole group is
///   killed (SIGKILL): no grandchild outlives its case;
/// - its output pipes are read until end of file, but for at most
///   ``drainGrace`` seconds after the child ended: a descendant that left the
///   group and still holds a pipe cannot hang the caller;
/// - it starts with SIGINT, SIGTERM, SIGHUP, SIGPIPE and SIGQUIT at their
///   default actions and no signal blocked, whatever the caller set, and
///   with standard input from `/dev/null`.
public enum ChildProcess {
    public enum Outcome: Sendable {
        case finished(status: Int32, stdout: String, stderr: String)
        case signaled(signal: Int32, stderr: String)
        case timedOut(seconds: Double)
        case launchFailed(String)
    }

    /// Seconds the pipes are still read after the child ended.
    static let drainGrace: Double = 2

    /// The most bytes kept of each stream: the first of standard output (a
    /// reply), the last of standard error (its last line is the reason).
    static let keptBytes = 64 << 20

    /// The variable that tells a child which process started it (see
    /// ``adoptParentDeathSignal()``).
    static let parentVariable = "ATTNBENCH_PARENT_PID"

    /// Runs `executable arguments…`, killing its group after `timeout`
    /// seconds (counted from the spawn; a child that exits only later is
    /// timed out too); `environment` adds to (or overrides) this process's
    /// environment.
    public static func run(
        executable: String, arguments: [String], timeout: Double, environment extra: [String: String] = [:]
    ) -> Outcome {
        var env = ProcessInfo.processInfo.environment
        env["ATTNBENCH_QUIET_BLAS"] = "1"  // the parent already reported the kernels
        env[parentVariable] = "\(getpid())"
        env.merge(extra) { _, new in new }

        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard attn_pipe_cloexec(&out) == 0, attn_pipe_cloexec(&err) == 0 else {
            for fd in out + err where fd >= 0 { close(fd) }
            return .launchFailed("cannot create pipes: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            pid = try ProcessSupervisor.shared.startChild {
                try spawn(executable, arguments: arguments, environment: env, stdout: out[1], stderr: err[1])
            }
        } catch {
            for fd in out + err { close(fd) }
            return .launchFailed(error is ProcessSupervisor.Terminating ? "this process is terminating" : "\(error)")
        }
        close(out[1])
        close(err[1])
        let streams = [Stream(fd: out[0], keepFirst: true), Stream(fd: err[0], keepFirst: false)]
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        // Until the child exits: read what comes, kill the group at the
        // deadline. A wait never reaches past the deadline, and a child seen
        // to have exited only after it ran past its time: the output it sent
        // meanwhile must not pass it as finished.
        while !hasExited(pid) {
            let remaining = deadline.timeIntervalSinceNow
            if !timedOut && remaining <= 0 {
                kill(-pid, SIGKILL)
                timedOut = true
            }
            pump(streams, milliseconds: timedOut ? 50 : Int32(min(50, max(1, (remaining * 1000).rounded(.up)))))
        }
        if Date() >= deadline { timedOut = true }
        ProcessSupervisor.shared.endGroup(pid)
        let drainEnd = Date().addingTimeInterval(drainGrace)
        while streams.contains(where: { $0.isOpen }) && Date() < drainEnd { pump(streams, milliseconds: 50) }
        for s in streams { s.close() }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        ProcessSupervisor.shared.endOrphans()

        let stdout = String(decoding: streams[0].data, as: UTF8.self)
        let stderr = String(decoding: streams[1].data, as: UTF8.self)
        if timedOut { return .timedOut(seconds: timeout) }
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import.
        let signal = status & 0x7f
        if signal != 0 && signal != 0x7f { return .signaled(signal: signal, stderr: stderr) }
        return .finished(status: (status >> 8) & 0xff, stdout: stdout, stderr: stderr)
    }

    /// The path of this executable, for re-invoking it.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// In a child started by ``run(executable:arguments:timeout:environment:)``:
    /// asks to be killed when the parent dies, so a sweep killed with
    /// SIGKILL (which it cannot catch) leaves no case running. Ends this
    /// process at once if that parent is already gone.
    public static func adoptParentDeathSignal() {
        guard let text = ProcessInfo.processInfo.environment[parentVariable], let parent = pid_t(text) else { return }
        _ = attn_set_parent_death_signal(SIGKILL)
        if getppid() != parent { exit(1) }
    }

    /// posix_spawn with a new process group, default signal actions, an
    /// empty signal mask, `/dev/null` as standard input and the two pipes.
    private static func spawn(
        _ executable: String, arguments: [String], environment: [String: String], stdout: Int32, stderr: Int32
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), none = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw SpawnError(description: String(cString: strerror(rc))) }
        return pid
    }

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    /// Whether `pid` has ended, without reaping it (its pid stays reserved).
    private static func hasExited(_ pid: pid_t) -> Bool {
        while true {
            let r = attn_child_has_exited(pid)
            if r >= 0 { return r == 1 }
            if errno != EINTR { return true }
        }
    }

    /// Reads what is ready on the open streams, waiting up to `milliseconds`.
    private static func pump(_ streams: [Stream], milliseconds: Int32) {
        let open = streams.filter(\.isOpen)
        guard !open.isEmpty else {
            usleep(UInt32(milliseconds) * 1000)
            return
        }
        var fds = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        guard poll(&fds, nfds_t(fds.count), milliseconds) > 0 else { return }
        for (s, p) in zip(open, fds) where p.revents != 0 { s.readAvailable() }
    }

    /// One output pipe and what was read from it.
    private final class Stream {
        let fd: Int32
        let keepFirst: Bool
        private(set) var isOpen = true
        private(set) var data = Data()

        init(fd: Int32, keepFirst: Bool) {
            self.fd = fd
            self.keepFirst = keepFirst
        }

        func readAvailable() {
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                if keepFirst {
                    if data.count < ChildProcess.keptBytes { data.append(contentsOf: buffer[0 ..< n]) }
                } else {
                    data.append(contentsOf: buffer[0 ..< n])
                    if data.count > 2 * ChildProcess.keptBytes { data = data.suffix(ChildProcess.keptBytes) }
                }
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                close()
            }
        }

        func close() {
            guard isOpen else { return }
            Glibc.close(fd)
            isOpen = false
        }
    }
}
