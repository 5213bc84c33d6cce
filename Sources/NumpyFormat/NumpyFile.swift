import Foundation

/// Reads and writes NumPy `.npy` files holding one float array.
///
/// The format (numpy.lib.format): the magic bytes `\x93NUMPY`, a major and a
/// minor version byte, the header length as a little-endian `UInt16` (version
/// 1.0) or `UInt32` (2.0 and 3.0), then the header: a Python dict literal
/// `{'descr': …, 'fortran_order': …, 'shape': (…), }` padded with spaces and
/// ended by `'\n'` (Latin-1 text in 1.0 and 2.0, UTF-8 in 3.0), then the raw
/// element bytes.
///
/// Reading accepts versions 1.0, 2.0 and 3.0, dtypes `<f2` (float16, widened
/// exactly: every binary16 value is a `Float`), `<V2` (bfloat16 as
/// ml_dtypes saves it, widened exactly by a 16-bit shift), `<f4` (float32)
/// and `<f8` (float64, rounded to the nearest `Float`), C order only, and exactly
/// as many data bytes as the shape needs. Encoding produces version 1.0 `<f4` (or
/// `<f2` from `Float16` values) in C order, with the header padded so that the data starts at a multiple
/// of 64 bytes (version 2.0 only if the header would not fit in 65535 bytes).
public enum NumpyFile {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// The data of written files starts at a multiple of this many bytes.
    static let dataAlignment = 64

    /// Reads the `.npy` file at `path`.
    ///
    /// - Throws: `NumpyFileError` when the file cannot be read, is not a
    ///   well-formed `.npy` file, or holds something other than a C-order
    ///   little-endian float16, bfloat16, float32 or float64 array.
    public static func read(path: String) throws -> NumpyArray {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw NumpyFileError.cannotRead(path: path, reason: reason(error))
        }
        return try decode(data, path: path)
    }

    private static func reason(_ error: Error) -> String {
        let ns = error as NSError
        return NumpyFileError.oneLine("\(ns.localizedDescription) (\(ns.domain) \(ns.code))")
    }

    // MARK: Decoding

    /// Decodes the bytes of a `.npy` file; `path` only names it in errors.
    public static func decode(_ data: Data, path: String) throws -> NumpyArray {
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
            case .float16:
                for i in 0 ..< count {
                    let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = Float(Float16(bitPattern: bits))
                }
            case .bfloat16:
                for i in 0 ..< count {
                    let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = Float(bitPattern: UInt32(bits) << 16)
                }
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
    public static func encode(_ values: UnsafeBufferPointer<Float>, shape: [Int], path: String) throws -> Data {
        try encode(UnsafeRawBufferPointer(values), descr: "<f4", count: values.count, shape: shape, path: path)
    }

    /// The bytes of a `<f2` (IEEE half) file of `values`.
    public static func encode(_ values: UnsafeBufferPointer<Float16>, shape: [Int], path: String) throws -> Data {
        try encode(UnsafeRawBufferPointer(values), descr: "<f2", count: values.count, shape: shape, path: path)
    }

    /// The bytes of a file of `count` little-endian elements of `descr` at `raw`.
    private static func encode(
        _ raw: UnsafeRawBufferPointer, descr: String, count: Int, shape: [Int], path: String
    ) throws -> Data {
        guard NumpyShape.elementCount(shape) == count else {
            throw NumpyFileError.shapeMismatch(path: path, shape: shape, valueCount: count)
        }
        let dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(NumpyShape.text(shape)), }"
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

        var data = Data(capacity: preamble + header.count + raw.count)
        data.append(contentsOf: magic)
        data.append(contentsOf: [version, 0])
        let length = UInt32(header.count)
        let lengthBytes = version == 1 ? 2 : 4
        for i in 0 ..< lengthBytes { data.append(UInt8(truncatingIfNeeded: length >> (8 * UInt32(i)))) }
        data.append(contentsOf: header)
        // x86_64 and arm64 are little-endian, as the files are.
        if !raw.isEmpty { data.append(contentsOf: raw) }
        return data
    }

    /// Spaces to add after a header whose preamble, dict and newline take
    /// `length` bytes so the data starts at a multiple of `dataAlignment`.
    private static func paddingCount(_ length: Int) -> Int {
        (dataAlignment - length % dataAlignment) % dataAlignment
    }
}
