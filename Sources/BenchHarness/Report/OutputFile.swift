import Foundation

/// Writing to a path a user named, without destroying what is there.
///
/// A path is replaced only when nothing is there or a regular, writable
/// file is; a symbolic link, a directory, a FIFO, a socket or a device is
/// refused, and so is a read-only file (even for root, who could replace
/// it). Contents go to a temporary file beside the path, are flushed, and
/// are renamed over it: the path holds the old contents or the new, never
/// a part.
public enum OutputFile {
    public struct Refused: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Throws ``Refused`` unless `path` can be replaced, trying to create a
    /// file beside it. A missing directory is created with `createDirectory`
    /// (a report's folder), else refused.
    public static func checkReplaceable(_ path: String, createDirectory: Bool = false) throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            let type = info.st_mode & S_IFMT
            let kind: String? =
                switch type {
                case S_IFREG: nil
                case S_IFLNK: "a symbolic link"
                case S_IFDIR: "a directory"
                case S_IFIFO: "a FIFO"
                case S_IFSOCK: "a socket"
                case S_IFCHR, S_IFBLK: "a device"
                default: "not a regular file"
                }
            if let kind {
                throw Refused(
                    path: path, reason: "is \(kind); attnbench writes only regular files (choose another path)")
            }
            if info.st_mode & 0o222 == 0 || access(path, W_OK) != 0 {
                throw Refused(path: path, reason: "is read-only; attnbench does not replace it (choose another path)")
            }
        } else if errno != ENOENT {
            throw Refused(path: path, reason: "cannot be examined (\(String(cString: strerror(errno))))")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            guard createDirectory else {
                throw Refused(path: path, reason: "its directory \(directory) does not exist")
            }
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw Refused(
                    path: path, reason: "its directory cannot be created (\((error as NSError).localizedDescription))")
            }
        }
        // What a later replace does first: create a file beside the path.
        // Permissions, a read-only or pseudo file system (/proc, /sys) and a
        // full inode table all show here, before any work is spent.
        let probe = path + ".probe-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Refused(path: path, reason: "cannot be written (\(String(cString: strerror(errno))))")
        }
        close(fd)
        unlink(probe)
    }

    /// Replaces `path` with `data` atomically, after
    /// ``checkReplaceable(_:createDirectory:)``.
    public static func replace(_ path: String, with data: Data, createDirectory: Bool = false) throws {
        try checkReplaceable(path, createDirectory: createDirectory)
        let temporary = path + ".tmp-\(getpid())"
        let registration = ProcessSupervisor.shared.removeOnTermination(temporary)
        defer { ProcessSupervisor.shared.forget(registration) }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Refused(
                path: path, reason: "cannot be written (\(String(cString: strerror(errno))) creating \(temporary))")
        }
        let written = data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        let why = String(cString: strerror(errno))
        let synced = written && fsync(fd) == 0
        close(fd)
        guard synced else {
            unlink(temporary)
            throw Refused(path: path, reason: "cannot be written (\(why))")
        }
        guard rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw Refused(path: path, reason: "cannot be replaced (\(why))")
        }
    }
}
