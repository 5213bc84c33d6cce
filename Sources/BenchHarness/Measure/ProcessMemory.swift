import Foundation

/// Resident memory of this process, from `/proc/self/status` (Linux).
public enum ProcessMemory {
    /// Current resident set (`VmRSS`), in bytes; 0 where unavailable.
    public static func residentBytes() -> Int { statusField("VmRSS") }

    /// Peak resident set since start or the last ``resetPeak()`` (`VmHWM`), in bytes.
    public static func peakResidentBytes() -> Int { statusField("VmHWM") }

    /// Resets the peak to the current resident set by writing `5` to
    /// `/proc/self/clear_refs` (Linux 4.0+). Returns false where that is not
    /// possible; the peak then includes everything since the process started.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        do {
            try h.write(contentsOf: Data("5".utf8))
            return true
        } catch { return false }
    }

    /// Peak resident set over the process's whole life (`ru_maxrss`, which a
    /// `clear_refs` reset does not touch), in bytes.
    public static func processPeakBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// Physical memory of the machine, in bytes.
    public static var physicalBytes: Int { Int(ProcessInfo.processInfo.physicalMemory) }

    private static func statusField(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.split(separator: " ").compactMap { Int($0) }
            if let kB = digits.first { return kB * 1024 }
        }
        return 0
    }
}
