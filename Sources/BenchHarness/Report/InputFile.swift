import Foundation

/// Reading files a user named, as untrusted input.
public enum InputFile {
    /// The contents of `path`, refusing a file over `limit` bytes after
    /// reading at most `limit + 1`: a JSON or tuning file is small, and a
    /// huge or endless one (a device, a FIFO) must not exhaust memory.
    ///
    /// - Throws: ``OutputFile/Refused`` naming the path and why.
    public static func read(_ path: String, atMost limit: Int) throws -> Data {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw OutputFile.Refused(path: path, reason: "cannot be read (\((error as NSError).localizedDescription))")
        }
        guard data.count <= limit else {
            throw OutputFile.Refused(
                path: path, reason: "is larger than \(Bytes.format(limit)), more than such a file holds")
        }
        return data
    }

    /// The device and inode of what `path` names (following links), or nil
    /// when nothing is there: two paths name the same file exactly when
    /// their identities are equal, whatever links or spellings they use.
    public static func identity(of path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

/// A file's device and inode (see ``InputFile/identity(of:)``).
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
}
