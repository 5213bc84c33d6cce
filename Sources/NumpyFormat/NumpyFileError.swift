import Foundation

/// Why a `.npy` file could not be read or written. Every description is one
/// line: the path, what is wrong and what is allowed.
public enum NumpyFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read.
    case cannotRead(path: String, reason: String)
    /// The file could not be written.
    case cannotWrite(path: String, reason: String)
    /// The file does not start with the magic string `\x93NUMPY`.
    case badMagic(path: String, found: [UInt8])
    /// The format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion(path: String, major: UInt8, minor: UInt8)
    /// The file ends before the end of the header its preamble announces.
    case truncatedHeader(path: String, neededBytes: Int, fileBytes: Int)
    /// The header is not a Python dict literal with exactly the keys
    /// `descr`, `fortran_order` and `shape` of the right types.
    case malformedHeader(path: String, detail: String)
    /// `descr` is not a dtype this reader converts.
    case unsupportedDType(path: String, descr: String)
    /// `descr` is a big-endian float (`>f2`, `>f4`, `>f8`).
    case bigEndian(path: String, descr: String)
    /// `fortran_order` is `True`.
    case fortranOrder(path: String)
    /// `shape` has a negative extent, or its element or byte count overflows `Int`.
    case invalidShape(path: String, shape: [Int], detail: String)
    /// Fewer data bytes follow the header than the shape and dtype need.
    case truncatedData(path: String, neededBytes: Int, availableBytes: Int)
    /// More data bytes follow the header than the shape and dtype need.
    case trailingData(path: String, neededBytes: Int, availableBytes: Int)
    /// On write: the shape's element count differs from the number of values.
    case shapeMismatch(path: String, shape: [Int], valueCount: Int)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .cannotRead(let path, _), .cannotWrite(let path, _), .badMagic(let path, _),
            .unsupportedVersion(let path, _, _), .truncatedHeader(let path, _, _),
            .malformedHeader(let path, _), .unsupportedDType(let path, _), .bigEndian(let path, _),
            .fortranOrder(let path), .invalidShape(let path, _, _), .truncatedData(let path, _, _),
            .trailingData(let path, _, _), .shapeMismatch(let path, _, _):
            return path
        }
    }

    public var description: String {
        let allowedDTypes = "allowed: <f2 float16, <V2 bfloat16 (ml_dtypes), <f4 float32, <f8 float64"
        let text: String
        switch self {
        case .cannotRead(_, let reason):
            text = "cannot read file: \(reason)"
        case .cannotWrite(_, let reason):
            text = "cannot write file: \(reason)"
        case .badMagic(_, let found):
            let hex = found.map { String(format: "%02x", $0) }.joined(separator: " ")
            text =
                "not a .npy file: the first bytes are [\(hex)] "
                + "(allowed: files starting with the magic string \\x93NUMPY, as numpy.save writes)"
        case .unsupportedVersion(_, let major, let minor):
            text = ".npy format version \(major).\(minor) is not supported (allowed: 1.0, 2.0, 3.0)"
        case .truncatedHeader(_, let needed, let fileBytes):
            text =
                "file is truncated inside the header: the header needs \(needed) bytes "
                + "but the file has \(fileBytes) (allowed: complete .npy files)"
        case .malformedHeader(_, let detail):
            text =
                "malformed header: \(detail) (allowed: a dict like "
                + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), })"
        case .unsupportedDType(_, let descr):
            text = "dtype '\(descr)' is not supported (\(allowedDTypes))"
        case .bigEndian(_, let descr):
            text =
                "dtype '\(descr)' is big-endian, which is not supported "
                + "(\(allowedDTypes); convert with a.astype('<f4'))"
        case .fortranOrder:
            text =
                "fortran_order is True, which is not supported "
                + "(allowed: C order, fortran_order False; save numpy.ascontiguousarray(a))"
        case .invalidShape(_, let shape, let detail):
            text =
                "shape \(NumpyShape.text(shape)) is invalid: \(detail) "
                + "(allowed: non-negative extents whose byte count fits in memory)"
        case .truncatedData(_, let needed, let available):
            text =
                "data is truncated: the shape and dtype need \(needed) bytes after the header "
                + "but the file has \(available) (allowed: complete .npy files)"
        case .trailingData(_, let needed, let available):
            text =
                "\(available - needed) unexpected bytes after the data: the shape and dtype need "
                + "\(needed) bytes after the header but the file has \(available) "
                + "(allowed: exactly one array per .npy file)"
        case .shapeMismatch(_, let shape, let count):
            let expected = NumpyShape.elementCount(shape).map(String.init) ?? "an invalid number of"
            text =
                "shape \(NumpyShape.text(shape)) holds \(expected) values but \(count) were given "
                + "(allowed: non-negative extents whose product is the value count)"
        }
        return NumpyFileError.oneLine("\(path): \(text)")
    }

    static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: " ")
            .replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\r", with: " ")
    }
}
