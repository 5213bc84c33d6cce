import Foundation

/// How much of the machine went to work other than the measured case while
/// it ran: the figure that says whether a time can be trusted.
///
/// From the kernel's counters (`/proc/stat`, Linux) and this process's own
/// accounting (`getrusage`), over the case's wall time `w` on `c` online CPUs:
///
///     other = (busy ticks / CLK_TCK) − CPU time of this process and of its
///             children reaped meanwhile (the case's child process)
///     otherCPUPercent = 100 · other / (w · c)
///     stealPercent    = 100 · (steal ticks / CLK_TCK) / (w · c)
///
/// where busy is user + nice + system + irq + softirq. Steal is time the
/// hypervisor gave this machine's virtual CPUs to other guests.
///
/// Edge cases: the kernel counts in ticks (10 ms with CLK_TCK = 100), so a
/// short case reads a few percent of noise; a negative difference is
/// clamped to 0. Where `/proc/stat` cannot be read, there is no value.
public struct Interference: Codable, Sendable, Equatable {
    /// CPU time of other processes, as a percentage of the machine's
    /// capacity during the case (wall time × online CPUs).
    public var otherCPUPercent: Double
    /// Steal time, in the same units.
    public var stealPercent: Double
    /// Wall time the counters cover, in seconds.
    public var wallSeconds: Double

    public init(otherCPUPercent: Double, stealPercent: Double, wallSeconds: Double) {
        self.otherCPUPercent = otherCPUPercent
        self.stealPercent = stealPercent
        self.wallSeconds = wallSeconds
    }

    /// Above this share of other processes' CPU time a case counts as
    /// disturbed. Why 5%: on an idle machine of this kind cases read under
    /// 1% (tick rounding, kernel threads); one competing process that keeps
    /// a tenth of one of two cores busy reads 5%.
    public static let otherCPUThresholdPercent = 5.0
    /// Above this share of steal time a case counts as disturbed (idle
    /// machines of this kind read under 0.2%).
    public static let stealThresholdPercent = 2.0

    /// Whether the machine was busy enough elsewhere to slow the case.
    public var isDisturbed: Bool {
        otherCPUPercent > Self.otherCPUThresholdPercent || stealPercent > Self.stealThresholdPercent
    }

    /// One line for notes and progress output.
    public var summary: String {
        String(format: "other processes %.0f%% of the CPUs, steal %.0f%%", otherCPUPercent, stealPercent)
    }

    /// Combines several measurements of one case (the rounds of an A/B run),
    /// weighting each by its wall time.
    public static func combined(_ parts: [Interference]) -> Interference? {
        let wall = parts.reduce(0) { $0 + $1.wallSeconds }
        guard wall > 0 else { return parts.first }
        return Interference(
            otherCPUPercent: parts.reduce(0) { $0 + $1.otherCPUPercent * $1.wallSeconds } / wall,
            stealPercent: parts.reduce(0) { $0 + $1.stealPercent * $1.wallSeconds } / wall,
            wallSeconds: wall)
    }
}

/// A snapshot of the counters ``Interference`` is computed from; take one
/// before a case and call ``finish()`` after it (after its child process
/// has been reaped, so that the child's CPU time is this process's own).
public struct InterferenceProbe: Sendable {
    let wall: Double
    let ticks: CPUTicks?
    let ownCPUSeconds: Double

    public static func start() -> InterferenceProbe {
        InterferenceProbe(wall: Stopwatch.now(), ticks: CPUTicks.read(), ownCPUSeconds: Self.ownCPUSeconds())
    }

    /// The interference since ``start()``, or nil where `/proc/stat` is unreadable.
    public func finish() -> Interference? {
        let wall = Stopwatch.now() - self.wall
        guard let before = ticks, let after = CPUTicks.read(), wall > 0 else { return nil }
        let perSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        let capacity = wall * Double(max(1, after.cpus))
        let busy = Double(after.busy - before.busy) / perSecond
        let other = max(0, busy - (Self.ownCPUSeconds() - ownCPUSeconds))
        let steal = Double(after.steal - before.steal) / perSecond
        return Interference(
            otherCPUPercent: 100 * other / capacity, stealPercent: 100 * max(0, steal) / capacity,
            wallSeconds: wall)
    }

    /// User + system CPU seconds of this process and its reaped children.
    static func ownCPUSeconds() -> Double {
        func seconds(_ who: Int32) -> Double {
            var usage = rusage()
            getrusage(__rusage_who_t(who), &usage)
            return Double(usage.ru_utime.tv_sec) + Double(usage.ru_stime.tv_sec)
                + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
        }
        return seconds(RUSAGE_SELF.rawValue) + seconds(RUSAGE_CHILDREN.rawValue)
    }
}

/// CPU counters from `/proc/stat`, in ticks, summed over the CPUs this
/// process may run on (its affinity, so that in a container or a cpuset the
/// rest of the host does not count).
public struct CPUTicks: Sendable, Equatable {
    /// user + nice + system + irq + softirq.
    public var busy: Int
    public var steal: Int
    /// The CPUs summed.
    public var cpus: Int

    public static func read() -> CPUTicks? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let allowed = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
            .flatMap { parseCPUList(String($0.dropFirst("Cpus_allowed_list:".count))) }
        return parse(text, cpus: allowed)
    }

    /// Parses the text of `/proc/stat`, summing the `cpuN` lines of `cpus`
    /// (every CPU when nil). Nil when no such line has the eight counters.
    public static func parse(_ text: String, cpus: Set<Int>? = nil) -> CPUTicks? {
        var out = CPUTicks(busy: 0, steal: 0, cpus: 0)
        for line in text.split(separator: "\n") where line.hasPrefix("cpu") {
            let fields = line.split(separator: " ")
            guard let n = Int(fields[0].dropFirst(3)), cpus?.contains(n) ?? true else { continue }
            // user nice system idle iowait irq softirq steal [guest guest_nice]
            let t = fields.dropFirst().compactMap { Int($0) }
            guard t.count >= 8 else { continue }
            out.busy += t[0] + t[1] + t[2] + t[5] + t[6]
            out.steal += t[7]
            out.cpus += 1
        }
        return out.cpus > 0 ? out : nil
    }

    /// Parses a kernel CPU list such as `0-3,8,10-11`.
    public static func parseCPUList(_ text: String) -> Set<Int>? {
        var out = Set<Int>()
        for part in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0) }
            switch bounds.count {
            case 1:
                guard let a = bounds[0] else { return nil }
                out.insert(a)
            case 2:
                guard let a = bounds[0], let b = bounds[1], a <= b else { return nil }
                out.formUnion(a ... b)
            default: return nil
            }
        }
        return out.isEmpty ? nil : out
    }
}
