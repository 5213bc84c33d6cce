import Foundation
import NumpyFormat

/// Writing `.npy` files to a user's path: the bytes come from
/// ``NumpyFile/encode(_:shape:path:)``, and the file is replaced through
/// ``OutputFile``, which refuses anything but a regular file.
extension NumpyFile {
    /// Writes `values`, of the given C-order `shape`, to `path` as a version
    /// 1.0 `<f4` `.npy` file, replacing an existing regular file atomically
    /// (anything else at `path` is refused: ``OutputFile``).
    ///
    /// - Throws: `NumpyFileError.shapeMismatch` if a shape extent is negative
    ///   or the product of `shape` is not `values.count`;
    ///   `NumpyFileError.cannotWrite` if the file cannot be written.
    public static func write(_ values: UnsafeBufferPointer<Float>, shape: [Int], to path: String) throws {
        try replace(path, with: try encode(values, shape: shape, path: path))
    }

    /// Writes IEEE half `values` as a `<f2` file; see `write(_:shape:to:)`.
    public static func write(_ values: UnsafeBufferPointer<Float16>, shape: [Int], to path: String) throws {
        try replace(path, with: try encode(values, shape: shape, path: path))
    }

    private static func replace(_ path: String, with data: Data) throws {
        do {
            try OutputFile.replace(path, with: data)
        } catch let refused as OutputFile.Refused {
            throw NumpyFileError.cannotWrite(path: path, reason: refused.reason)
        }
    }

    /// Writes `values` with the given C-order `shape`; see
    /// `write(_:shape:to:)` for the buffer version.
    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try values.withUnsafeBufferPointer { try write($0, shape: shape, to: path) }
    }

    /// Writes `array` to `path`; see `write(_:shape:to:)`.
    public static func write(_ array: NumpyArray, to path: String) throws {
        try write(array.values, shape: array.shape, to: path)
    }
}
