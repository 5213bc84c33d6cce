import Foundation

/// The element types the reader accepts.
///
/// `bfloat16` is a two-byte void (`<V2` or `|V2`): NumPy has no bfloat16, and
/// `np.save` writes an `ml_dtypes.bfloat16` array (JAX's bf16 arrays turned
/// into NumPy ones) under that descr, the bytes being the bf16 bit patterns.
enum NumpyDType {
    case float16, bfloat16, float32, float64

    var byteWidth: Int {
        switch self {
        case .float16, .bfloat16: 2
        case .float32: 4
        case .float64: 8
        }
    }

    /// Maps a `descr` string to a dtype, or throws the error that names what
    /// is wrong with it.
    init(descr: String, path: String) throws {
        switch descr {
        case "<f2": self = .float16
        case "<V2", "|V2": self = .bfloat16
        case "<f4": self = .float32
        case "<f8": self = .float64
        case ">f2", ">f4", ">f8": throw NumpyFileError.bigEndian(path: path, descr: descr)
        default: throw NumpyFileError.unsupportedDType(path: path, descr: descr)
        }
    }
}

/// The validated contents of a `.npy` header dict.
struct NumpyHeader {
    let dtype: NumpyDType
    let shape: [Int]

    /// Parses and checks the header text: a dict with exactly the keys
    /// `descr` (a string), `fortran_order` (`False`) and `shape` (a tuple of
    /// ints), followed by nothing but whitespace.
    init(bytes: Data, utf8: Bool, path: String) throws {
        let scalars: [Unicode.Scalar]
        if utf8 {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw NumpyFileError.malformedHeader(path: path, detail: "the version 3.0 header is not valid UTF-8")
            }
            scalars = Array(text.unicodeScalars)
        } else {
            scalars = bytes.map { Unicode.Scalar($0) }  // Latin-1: one byte, one scalar.
        }

        let entries: [(key: String, value: PythonLiteral)]
        do {
            entries = try PythonLiteralParser.parseDict(scalars)
        } catch let error as PythonLiteralParser.ParseError {
            throw NumpyFileError.malformedHeader(path: path, detail: error.message)
        }

        var dict: [String: PythonLiteral] = [:]
        for (key, value) in entries {
            guard ["descr", "fortran_order", "shape"].contains(key) else {
                throw NumpyFileError.malformedHeader(path: path, detail: "unexpected key '\(key)'")
            }
            guard dict.updateValue(value, forKey: key) == nil else {
                throw NumpyFileError.malformedHeader(path: path, detail: "duplicate key '\(key)'")
            }
        }
        guard let descr = dict["descr"], let fortran = dict["fortran_order"], let shape = dict["shape"] else {
            let missing = ["descr", "fortran_order", "shape"].filter { dict[$0] == nil }
            throw NumpyFileError.malformedHeader(
                path: path, detail: "missing key " + missing.map { "'\($0)'" }.joined(separator: ", "))
        }

        // descr: a string such as '<f4'; a list describes a structured dtype.
        switch descr {
        case .string(let text): dtype = try NumpyDType(descr: text, path: path)
        case .list: throw NumpyFileError.unsupportedDType(path: path, descr: descr.text)
        default:
            throw NumpyFileError.malformedHeader(path: path, detail: "'descr' is \(descr.text), not a string")
        }

        guard case .bool(let isFortran) = fortran else {
            throw NumpyFileError.malformedHeader(
                path: path, detail: "'fortran_order' is \(fortran.text), not True or False")
        }
        if isFortran { throw NumpyFileError.fortranOrder(path: path) }

        guard case .tuple(let items) = shape else {
            throw NumpyFileError.malformedHeader(
                path: path, detail: "'shape' is \(shape.text), not a tuple of ints like (2, 3), (5,) or ()")
        }
        var extents: [Int] = []
        for item in items {
            guard case .int(let extent) = item else {
                throw NumpyFileError.malformedHeader(
                    path: path, detail: "'shape' is \(shape.text), not a tuple of ints like (2, 3), (5,) or ()")
            }
            extents.append(extent)
        }
        self.shape = extents
    }
}

/// Shape helpers shared by reading, writing and error messages.
enum NumpyShape {
    /// The product of the extents (1 for `[]`), or nil if an extent is
    /// negative or the product overflows `Int`.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for extent in shape {
            guard extent >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Python tuple syntax: `()`, `(5,)`, `(2, 3)`.
    static func text(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}
