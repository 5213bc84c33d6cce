import Foundation

/// An exclusive claim on a report for as long as a command writes it, so
/// that a second writer is refused at once instead of both finishing and
/// one's rows silently replacing the other's. Every command that writes a
/// report or a tuning file takes it: `sweep`, `merge`, `ab` and `tune`.
///
/// The lock is `flock(2)` on a hidden file beside the report (`.NAME.lock`):
/// the report itself is replaced by rename when the sweep ends, which would
/// orphan a lock held on it. The kernel drops the lock when the process
/// dies, so a killed sweep never leaves the report locked.
public final class ReportLock {
    public let path: String
    private var fd: Int32

    public struct Busy: Error, CustomStringConvertible {
        public let report: String
        public var description: String {
            "\(report) is being written by another attnbench command (a sweep, merge, ab or tune); wait for it to finish or choose another path"
        }
    }

    /// Takes the lock of `report`, or throws ``Busy`` without waiting.
    public init(report: String) throws {
        let url = URL(fileURLWithPath: report)
        path = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".lock").path
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw OutputFile.Refused(
                    path: path, reason: "cannot create the report's lock file (\(String(cString: strerror(errno))))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                close(fd)
                throw Busy(report: report)
            }
            // The holder before us may have unlinked the file between our open
            // and our lock: then we hold a lock nobody else can see; retry.
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev
            {
                self.fd = fd
                return
            }
            close(fd)
        }
    }

    /// Removes the lock file and releases the lock (also on deinit).
    public func release() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
