import CProcessControl
import Foundation

/// Keeps track of what this process has started and left on disk, so that
/// nothing outlives a case or an interrupted command.
///
/// - Every child runs in a process group of its own, which the supervisor
///   records while the child lives (``ChildProcess`` registers it). Ending
///   a case, by its end or by a time limit, kills the whole group, so a
///   grandchild a peer started goes with it.
/// - Temporary files and folders (a peer's input folder, a report's
///   half-written replacement) are registered while they exist.
/// - After ``installTerminationHandlers()``, SIGINT, SIGTERM and SIGHUP end
///   every registered group, remove every registered path, wait for a report
///   row being written to be complete, and then end this process by the same
///   signal, so a shell sees its usual status (130 for Ctrl-C).
///
/// Signals are caught by a C handler that only writes the signal's number to
/// a pipe; a thread reading that pipe does the work, outside signal context.
public final class ProcessSupervisor: @unchecked Sendable {
    public static let shared = ProcessSupervisor()

    /// Guards everything below, and is held across the few steps that must
    /// not be cut by a termination: starting a child and registering its
    /// group, and appending a report row.
    private let lock = NSRecursiveLock()
    private var groups: Set<pid_t> = []
    private var paths: [Int: String] = [:]
    private var nextToken = 0
    private var terminating = false
    private var handlersInstalled = false
    private(set) var isSubreaper = false

    private init() {}

    // MARK: Termination

    /// Catches SIGINT, SIGTERM and SIGHUP for the rest of the process's
    /// life (see the type's documentation). Also makes this process the
    /// reaper of orphaned descendants, so a grandchild that left its group
    /// can still be ended (``endOrphans()``). Idempotent.
    public func installTerminationHandlers() {
        lock.lock()
        defer { lock.unlock() }
        guard !handlersInstalled else { return }
        var ends: [Int32] = [0, 0]
        guard attn_pipe_cloexec(&ends) == 0 else { return }
        let reader = ends[0]
        Thread.detachNewThread { [self] in
            var byte: UInt8 = 0
            while true {
                let n = read(reader, &byte, 1)
                if n == 1 { terminate(signal: Int32(byte)) }
                if n < 0 && errno != EINTR { return }
            }
        }
        guard attn_forward_termination_signals(ends[1]) == 0 else { return }
        handlersInstalled = true
        isSubreaper = attn_become_child_subreaper() == 0
    }

    /// Ends every child group, removes every registered path and ends this
    /// process by `signal`. Never returns.
    func terminate(signal: Int32) -> Never {
        lock.lock()  // waits for a spawn or a row write under way; kept until the end
        terminating = true
        for group in groups { kill(-group, SIGKILL) }
        for group in groups { Self.reapWithin(seconds: 2, pid: group) }
        groups.removeAll()
        endOrphansLocked()
        for path in paths.values { try? FileManager.default.removeItem(atPath: path) }
        paths.removeAll()
        attn_die_by_signal(signal)
        exit(128 + signal)
    }

    /// Runs `body` so that a termination waits for it to finish: a report
    /// row is written whole or not at all.
    public func uninterrupted<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: Children

    /// Why a child cannot be started now.
    struct Terminating: Error {}

    /// Starts a child with `spawn` (which returns its pid, the leader of its
    /// own process group, or an error) and registers its group before a
    /// termination can run. Refuses once a termination has begun.
    func startChild(_ spawn: () throws -> pid_t) throws -> pid_t {
        lock.lock()
        defer { lock.unlock() }
        guard !terminating else { throw Terminating() }
        let pid = try spawn()
        groups.insert(pid)
        return pid
    }

    /// Kills the child's whole group (whatever is left of it) and forgets it.
    /// Call before reaping the leader, so its pid cannot be reused meanwhile.
    func endGroup(_ pid: pid_t) {
        lock.lock()
        defer { lock.unlock() }
        kill(-pid, SIGKILL)
        groups.remove(pid)
    }

    /// Ends descendants that left their group and were orphaned to this
    /// process (only as a subreaper): every child of this process that is
    /// not a registered group's leader. Repeats while new orphans appear
    /// (the children of a killed orphan are orphaned in turn), for at most
    /// a second.
    public func endOrphans() {
        lock.lock()
        defer { lock.unlock() }
        endOrphansLocked()
    }

    private func endOrphansLocked() {
        guard isSubreaper else { return }
        let deadline = Date().addingTimeInterval(1)
        while Date() < deadline {
            let orphans = Self.children(of: getpid()).filter { !groups.contains($0) }
            if orphans.isEmpty { return }
            for pid in orphans {
                kill(pid, SIGKILL)
                Self.reapWithin(seconds: 0.5, pid: pid)
            }
        }
    }

    /// The pids whose parent is `parent`, from `/proc/*/stat`.
    static func children(of parent: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { name -> pid_t? in
            guard let pid = pid_t(name),
                let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After "pid (comm) ": state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent ? pid : nil
        }
    }

    /// Reaps `pid` if it ends within `seconds`.
    @discardableResult
    static func reapWithin(seconds: Double, pid: pid_t) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return status }
            if r < 0 && errno != EINTR { return nil }
            if Date() >= deadline { return nil }
            usleep(2000)
        }
    }

    // MARK: Temporary paths

    /// A registered temporary path; ``ProcessSupervisor/forget(_:)`` it once
    /// it is gone or has become permanent.
    public struct Registration: Sendable {
        fileprivate let token: Int
    }

    /// Registers `path` for removal if the process is terminated while it exists.
    public func removeOnTermination(_ path: String) -> Registration {
        lock.lock()
        defer { lock.unlock() }
        nextToken += 1
        paths[nextToken] = path
        return Registration(token: nextToken)
    }

    public func forget(_ registration: Registration) {
        lock.lock()
        defer { lock.unlock() }
        paths[registration.token] = nil
    }
}
