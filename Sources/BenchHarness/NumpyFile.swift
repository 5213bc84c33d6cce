import Foundation

// MARK: - Array

/// A dense float32 array in C (row-major) order, as read from or written to a
/// NumPy `.npy` file.
///
/// `values.count` is the product of `shape`; the empty shape `()` is a scalar
/// holding one value, and any zero extent gives an array with no values.
public struct NumpyArray: Sendable, Equatable {
    /// Extents, outermost first. `[]` is a 0-d (scalar) array.
    public let shape: [Int]
    /// The elements in C order: the last index varies fastest.
    public let values: [Float]

    /// Precondition: every extent is non-negative and their product equals
    /// `values.count`.
    public init(shape: [Int], values: [Float]) {
        precondition(
            NumpyShape.elementCount(shape) == values.count,
            "shape \(NumpyShape.text(shape)) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// Number of elements, the product of `shape` (1 for a scalar).
    public var count: Int { values.count }
}

// MARK: - Errors

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
    /// `descr` is a big-endian float (`>f4`, `>f8`).
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
        let allowedDTypes = "allowed: <f4 float32, <f8 float64"
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

// MARK: - Reading and writing

/// Reads and writes NumPy `.npy` files holding one float array.
///
/// The format (numpy.lib.format): the magic bytes `\x93NUMPY`, a major and a
/// minor version byte, the header length as a little-endian `UInt16` (version
/// 1.0) or `UInt32` (2.0 and 3.0), then the header: a Python dict literal
/// `{'descr': …, 'fortran_order': …, 'shape': (…), }` padded with spaces and
/// ended by `'\n'` (Latin-1 text in 1.0 and 2.0, UTF-8 in 3.0), then the raw
/// element bytes.
///
/// Reading accepts versions 1.0, 2.0 and 3.0, dtypes `<f4` (float32) and
/// `<f8` (float64, rounded to the nearest `Float`), C order only, and exactly
/// as many data bytes as the shape needs. Writing produces version 1.0 `<f4`
/// in C order, with the header padded so that the data starts at a multiple
/// of 64 bytes (version 2.0 only if the header would not fit in 65535 bytes).
public enum NumpyFile {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// The data of written files starts at a multiple of this many bytes.
    static let dataAlignment = 64

    /// Reads the `.npy` file at `path`.
    ///
    /// - Throws: `NumpyFileError` when the file cannot be read, is not a
    ///   well-formed `.npy` file, or holds something other than a C-order
    ///   little-endian float32 or float64 array.
    public static func read(path: String) throws -> NumpyArray {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw NumpyFileError.cannotRead(path: path, reason: reason(error))
        }
        return try decode(data, path: path)
    }

    /// Writes `values`, of the given C-order `shape`, to `path` as a version
    /// 1.0 `<f4` `.npy` file, replacing an existing regular file atomically
    /// (anything else at `path` is refused: ``OutputFile``).
    ///
    /// - Throws: `NumpyFileError.shapeMismatch` if a shape extent is negative
    ///   or the product of `shape` is not `values.count`;
    ///   `NumpyFileError.cannotWrite` if the file cannot be written.
    public static func write(_ values: UnsafeBufferPointer<Float>, shape: [Int], to path: String) throws {
        let data = try encode(values, shape: shape, path: path)
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

    private static func reason(_ error: Error) -> String {
        let ns = error as NSError
        return NumpyFileError.oneLine("\(ns.localizedDescription) (\(ns.domain) \(ns.code))")
    }

    // MARK: Decoding

    /// Decodes the bytes of a `.npy` file; `path` only names it in errors.
    static func decode(_ data: Data, path: String) throws -> NumpyArray {
        let bytes = [UInt8](data.prefix(min(data.count, 12)))
        guard bytes.count >= magic.count, Array(bytes[0 ..< magic.count]) == magic else {
            throw NumpyFileError.badMagic(path: path, found: Array(bytes.prefix(magic.count)))
        }
        guard bytes.count >= 8 else {
            throw NumpyFileError.truncatedHeader(path: path, neededBytes: 10, fileBytes: data.count)
        }
        let major = bytes[6], minor = bytes[7]
        let lengthFieldSize: Int
        switch (major, minor) {
        case (1, 0): lengthFieldSize = 2
        case (2, 0), (3, 0): lengthFieldSize = 4
        default: throw NumpyFileError.unsupportedVersion(path: path, major: major, minor: minor)
        }
        let headerStart = 8 + lengthFieldSize
        guard bytes.count >= headerStart else {
            throw NumpyFileError.truncatedHeader(path: path, neededBytes: headerStart, fileBytes: data.count)
        }
        var headerLength = 0
        for i in (0 ..< lengthFieldSize).reversed() { headerLength = headerLength << 8 | Int(bytes[8 + i]) }
        let dataStart = headerStart + headerLength
        guard data.count >= dataStart else {
            throw NumpyFileError.truncatedHeader(path: path, neededBytes: dataStart, fileBytes: data.count)
        }

        let base = data.startIndex
        let headerBytes = data[(base + headerStart) ..< (base + dataStart)]
        let header = try NumpyHeader(bytes: headerBytes, utf8: major == 3, path: path)

        guard let elementCount = NumpyShape.elementCount(header.shape) else {
            throw NumpyFileError.invalidShape(
                path: path, shape: header.shape,
                detail: "an extent is negative or the element count overflows")
        }
        let (byteCount, overflow) = elementCount.multipliedReportingOverflow(by: header.dtype.byteWidth)
        guard !overflow else {
            throw NumpyFileError.invalidShape(path: path, shape: header.shape, detail: "the byte count overflows")
        }
        let available = data.count - dataStart
        if available < byteCount {
            throw NumpyFileError.truncatedData(path: path, neededBytes: byteCount, availableBytes: available)
        }
        if available > byteCount {
            throw NumpyFileError.trailingData(path: path, neededBytes: byteCount, availableBytes: available)
        }

        let values = data.withUnsafeBytes { raw in
            convert(UnsafeRawBufferPointer(rebasing: raw[dataStart...]), count: elementCount, dtype: header.dtype)
        }
        return NumpyArray(shape: header.shape, values: values)
    }

    /// Converts `count` little-endian elements of `dtype` starting at `raw`
    /// (any alignment) to host `Float`s.
    private static func convert(_ raw: UnsafeRawBufferPointer, count: Int, dtype: NumpyDType) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case .float32:
                #if _endian(little)
                    if count > 0, let source = raw.baseAddress, let target = out.baseAddress {
                        UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count * 4)
                    }
                #else
                    for i in 0 ..< count {
                        let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                        out[i] = Float(bitPattern: bits)
                    }
                #endif
            case .float64:
                for i in 0 ..< count {
                    let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    out[i] = Float(Double(bitPattern: bits))
                }
            }
            initialized = count
        }
    }

    // MARK: Encoding

    /// The bytes of a version 1.0 (2.0 if the header is huge) `<f4` C-order
    /// `.npy` file; `path` only names it in errors.
    static func encode(_ values: UnsafeBufferPointer<Float>, shape: [Int], path: String) throws -> Data {
        guard NumpyShape.elementCount(shape) == values.count else {
            throw NumpyFileError.shapeMismatch(path: path, shape: shape, valueCount: values.count)
        }
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(NumpyShape.text(shape)), }"
        var header = Array(dict.utf8)
        // Preamble: magic, 2 version bytes, then a 2-byte (1.0) or 4-byte (2.0) length.
        var version: UInt8 = 1
        var preamble = magic.count + 2 + 2
        var padding = paddingCount(preamble + header.count + 1)
        if header.count + padding + 1 > Int(UInt16.max) {
            version = 2
            preamble = magic.count + 2 + 4
            padding = paddingCount(preamble + header.count + 1)
        }
        header += [UInt8](repeating: 0x20, count: padding)
        header.append(0x0A)  // '\n' ends the header, as the format requires.

        var data = Data(capacity: preamble + header.count + values.count * 4)
        data.append(contentsOf: magic)
        data.append(contentsOf: [version, 0])
        let length = UInt32(header.count)
        let lengthBytes = version == 1 ? 2 : 4
        for i in 0 ..< lengthBytes { data.append(UInt8(truncatingIfNeeded: length >> (8 * UInt32(i)))) }
        data.append(contentsOf: header)
        #if _endian(little)
            if !values.isEmpty { data.append(values) }
        #else
            for value in values {
                let bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: bits) { data.append(contentsOf: $0) }
            }
        #endif
        return data
    }

    /// Spaces to add after a header whose preamble, dict and newline take
    /// `length` bytes so the data starts at a multiple of `dataAlignment`.
    private static func paddingCount(_ length: Int) -> Int {
        (dataAlignment - length % dataAlignment) % dataAlignment
    }
}

// MARK: - Header

/// The element types the reader accepts.
enum NumpyDType {
    case float32, float64

    var byteWidth: Int { self == .float32 ? 4 : 8 }

    /// Maps a `descr` string to a dtype, or throws the error that names what
    /// is wrong with it.
    init(descr: String, path: String) throws {
        switch descr {
        case "<f4": self = .float32
        case "<f8": self = .float64
        case ">f4", ">f8": throw NumpyFileError.bigEndian(path: path, descr: descr)
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

// MARK: - Python literal parser

/// The subset of Python literals that appears in `.npy` headers.
enum PythonLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([String])  // Only keys are kept: nested dicts are never valid here.

    /// Python-like text, for error messages.
    var text: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        case .tuple(let items):
            return items.count == 1 ? "(\(items[0].text),)" : "(" + items.map(\.text).joined(separator: ", ") + ")"
        case .list(let items): return "[" + items.map(\.text).joined(separator: ", ") + "]"
        case .dict(let keys): return "{" + keys.map { "'\($0)': …" }.joined(separator: ", ") + "}"
        }
    }
}

/// A recursive-descent parser for a Python dict literal with string keys and
/// values that are strings, ints (an optional sign, decimal digits, an
/// optional Python 2 `L` suffix), `True`, `False`, `None`, tuples and lists.
/// `(x)` without a comma is `x`, as in Python; `(x,)` is a one-element tuple.
struct PythonLiteralParser {
    struct ParseError: Error { let message: String }

    private let scalars: [Unicode.Scalar]
    private var position = 0
    /// Open brackets around the current position; a header nests two deep at
    /// most, so a limit keeps a hostile file from exhausting the stack.
    private var depth = 0
    private static let maximumDepth = 32

    /// Parses `scalars` as one dict followed only by whitespace; returns its
    /// entries in order (duplicates kept for the caller to reject).
    static func parseDict(_ scalars: [Unicode.Scalar]) throws -> [(key: String, value: PythonLiteral)] {
        var parser = PythonLiteralParser(scalars: scalars)
        parser.skipWhitespace()
        let entries = try parser.dictEntries()
        parser.skipWhitespace()
        if parser.position < scalars.count {
            throw parser.error("unexpected \(parser.describeCurrent()) after the dict")
        }
        return entries
    }

    private init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

    private var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private func error(_ message: String) -> ParseError {
        ParseError(message: "\(message) at offset \(position)")
    }

    private func describeCurrent() -> String {
        guard let c = current else { return "end of header" }
        if c == "'" { return "a quote (')" }
        if c.value >= 0x21 && c.value < 0x7F { return "'\(Character(c))'" }
        return String(format: "character U+%04X", c.value)
    }

    private mutating func skipWhitespace() {
        while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { position += 1 }
    }

    private mutating func expect(_ scalar: Unicode.Scalar) throws {
        skipWhitespace()
        guard current == scalar else { throw error("expected '\(Character(scalar))' but found \(describeCurrent())") }
        position += 1
    }

    /// Parses `{` key `:` value (`,` key `:` value)* [`,`] `}`.
    private mutating func dictEntries() throws -> [(key: String, value: PythonLiteral)] {
        try expect("{")
        var entries: [(key: String, value: PythonLiteral)] = []
        while true {
            skipWhitespace()
            if current == "}" {
                position += 1
                return entries
            }
            guard case .string(let key) = try value() else {
                throw error("dict keys must be strings")
            }
            try expect(":")
            entries.append((key, try value()))
            skipWhitespace()
            if current == "," {
                position += 1
                continue
            }
            if current == "}" {
                position += 1
                return entries
            }
            throw error("expected ',' or '}' but found \(describeCurrent())")
        }
    }

    /// Parses items up to `close`, separated by commas; reports whether a
    /// comma was seen (which makes `(x,)` a tuple rather than `x`).
    private mutating func sequence(until close: Unicode.Scalar) throws -> (items: [PythonLiteral], sawComma: Bool) {
        var items: [PythonLiteral] = []
        var sawComma = false
        while true {
            skipWhitespace()
            if current == close {
                position += 1
                return (items, sawComma)
            }
            items.append(try value())
            skipWhitespace()
            if current == "," {
                position += 1
                sawComma = true
                continue
            }
            if current == close {
                position += 1
                return (items, sawComma)
            }
            throw error("expected ',' or '\(Character(close))' but found \(describeCurrent())")
        }
    }

    private mutating func value() throws -> PythonLiteral {
        skipWhitespace()
        guard let c = current else { throw error("unexpected end of header") }
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maximumDepth { throw error("brackets nested more than \(Self.maximumDepth) deep") }
        switch c {
        case "'", "\"": return .string(try string())
        case "(":
            position += 1
            let (items, sawComma) = try sequence(until: ")")
            return items.count == 1 && !sawComma ? items[0] : .tuple(items)
        case "[":
            position += 1
            return .list(try sequence(until: "]").items)
        case "{":
            return .dict(try dictEntries().map(\.key))
        case "-", "+", "0" ... "9":
            return .int(try integer())
        default:
            let word = identifier()
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case "": throw error("unexpected \(describeCurrent())")
            default: throw error("unknown name '\(word)'")
            }
        }
    }

    private mutating func identifier() -> String {
        var word = ""
        while let c = current, c.properties.isAlphabetic || c == "_" || ("0" ... "9").contains(c) {
            word.unicodeScalars.append(c)
            position += 1
        }
        return word
    }

    /// A quoted string; a backslash takes the next character literally.
    private mutating func string() throws -> String {
        guard let quote = current else { throw error("unexpected end of header") }
        position += 1
        var text = ""
        while let c = current {
            position += 1
            if c == quote { return text }
            if c == "\\" {
                guard let escaped = current else { break }
                position += 1
                text.unicodeScalars.append(escaped)
            } else {
                text.unicodeScalars.append(c)
            }
        }
        throw error("unterminated string")
    }

    private mutating func integer() throws -> Int {
        var negative = false
        if current == "-" || current == "+" {
            negative = current == "-"
            position += 1
        }
        var digits = ""
        while let c = current, ("0" ... "9").contains(c) {
            digits.unicodeScalars.append(c)
            position += 1
        }
        guard !digits.isEmpty else { throw error("expected digits but found \(describeCurrent())") }
        if current == "L" || current == "l" { position += 1 }  // Python 2 long suffix.
        guard let magnitude = Int(digits) else { throw error("integer \(digits) is too large") }
        return negative ? -magnitude : magnitude
    }
}
