import Foundation
import NumpyFormat
import XCTest

/// Reading `.npy` files: NumPy-made fixtures (Fixtures/make_fixtures.py),
/// hand-made bad files, and header variants.
final class NumpyFileTests: XCTestCase {
    // MARK: Helpers

    /// The path of a fixture made by Fixtures/make_fixtures.py.
    private func fixture(_ name: String) throws -> String {
        let url = Bundle.module.url(forResource: name, withExtension: "npy", subdirectory: "Fixtures")
        return try XCTUnwrap(url, "missing fixture \(name).npy").path
    }

    /// A fresh directory removed when the test ends.
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("NumpyFileTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Writes a hand-made `.npy` file: magic, version, header length, the
    /// header text as given (no padding added) and `payload`.
    private func writeRaw(
        _ name: String, major: UInt8 = 1, header: String,
        payload: [UInt8] = [], in directory: URL
    ) throws -> String {
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
        let headerBytes = Array(header.utf8)
        let length = UInt32(headerBytes.count)
        let lengthBytes = major == 1 ? 2 : 4
        for i in 0 ..< lengthBytes { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * UInt32(i)))) }
        bytes += headerBytes + payload
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Reads `path`, expecting a `NumpyFileError` whose description is one
    /// line naming the file; returns the error for further checks.
    private func readError(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> NumpyFileError? {
        do {
            let array = try NumpyFile.read(path: path)
            XCTFail("reading \(path) gave shape \(array.shape) instead of an error", file: file, line: line)
            return nil
        } catch let error as NumpyFileError {
            let name = URL(fileURLWithPath: path).lastPathComponent
            XCTAssertTrue(error.description.contains(name), "\(error) does not name \(name)", file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), "\(error) is not one line", file: file, line: line)
            XCTAssertEqual(error.path, path, file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
            return nil
        }
    }

    private func assertBitwiseEqual(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), file: file, line: line)
    }

    // MARK: Reading fixtures

    func testReadsFloat32Fixture() throws {
        let array = try NumpyFile.read(path: fixture("f32_2x3x4x5"))
        XCTAssertEqual(array.shape, [2, 3, 4, 5])
        XCTAssertEqual(array.count, 120)
        XCTAssertEqual(array.values, (0 ..< 120).map { Float($0) * 0.5 })
    }

    func testReadsFloat64FixtureRoundingToFloat() throws {
        let array = try NumpyFile.read(path: fixture("f64_small"))
        XCTAssertEqual(array.shape, [3, 4])
        // Same float64 arithmetic as the generator, then rounded to Float.
        XCTAssertEqual(array.values, (0 ..< 12).map { Float(Double($0) * 0.1 - 0.5) })
    }

    /// Every binary16 value is a Float: the widening is exact, subnormals,
    /// the largest finite value and the sign of zero included.
    func testReadsFloat16FixtureExactly() throws {
        let array = try NumpyFile.read(path: fixture("f16_small"))
        XCTAssertEqual(array.shape, [3, 4])
        let expected: [Float] = (0 ..< 8).map { Float($0) * 0.25 - 1 } + [65504, 0x1p-24, -0.0, 0.0999755859375]
        XCTAssertEqual(array.values.map(\.bitPattern), expected.map(\.bitPattern))
    }

    /// A bfloat16 array saved through ml_dtypes (descr `<V2`) is read as bf16
    /// bit patterns, widened exactly: subnormal, largest finite value and the
    /// sign of zero included.
    func testReadsMLDtypesBFloat16Exactly() throws {
        let array = try NumpyFile.read(path: fixture("bf16_small"))
        XCTAssertEqual(array.shape, [2, 3])
        let expected: [Float] = [
            1.5, -2, -0.0, 0x1p-133, Float(bitPattern: 0x7F7F_0000), Float(bitPattern: 0x3DCD_0000),
        ]
        XCTAssertEqual(array.values.map(\.bitPattern), expected.map(\.bitPattern))
    }

    func testReadsVersion2And3Headers() throws {
        for name in ["f32_v2", "f32_v3"] {
            let array = try NumpyFile.read(path: fixture(name))
            XCTAssertEqual(array.shape, [2, 3], name)
            XCTAssertEqual(array.values, [0, 0.5, 1, 1.5, 2, 2.5], name)
        }
    }

    func testReadsScalarAndEmptyArrays() throws {
        let scalar = try NumpyFile.read(path: fixture("f32_scalar"))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [2.5])
        let empty = try NumpyFile.read(path: fixture("f32_empty"))
        XCTAssertEqual(empty.shape, [0, 3])
        XCTAssertEqual(empty.values, [])
    }

    // MARK: Rejected fixtures

    func testRejectsFortranOrder() throws {
        let path = try fixture("fortran")
        XCTAssertEqual(readError(path), .fortranOrder(path: path))
        XCTAssertTrue(readError(path)?.description.contains("fortran_order") ?? false)
    }

    func testRejectsInt32() throws {
        let path = try fixture("int32")
        let error = readError(path)
        XCTAssertEqual(error, .unsupportedDType(path: path, descr: "<i4"))
        XCTAssertEqual(
            error?.description,
            "\(path): dtype '<i4' is not supported (allowed: <f2 float16, <V2 bfloat16 (ml_dtypes), <f4 float32, <f8 float64)"
        )
    }

    func testRejectsBigEndian() throws {
        let path = try fixture("bigendian")
        let error = readError(path)
        XCTAssertEqual(error, .bigEndian(path: path, descr: ">f4"))
        XCTAssertTrue(error?.description.contains("big-endian") ?? false)
    }

    func testRejectsTruncatedData() throws {
        let path = try fixture("truncated")
        // Shape (4, 5) of <f4 needs 80 bytes; 7 were cut off.
        XCTAssertEqual(readError(path), .truncatedData(path: path, neededBytes: 80, availableBytes: 73))
    }

    // MARK: Hand-made bad files

    func testRejectsBadMagicAndShortFiles() throws {
        let dir = try temporaryDirectory()
        let notNpy = dir.appendingPathComponent("hello.npy")
        try Data("hello world, this is text".utf8).write(to: notNpy)
        guard case .badMagic? = readError(notNpy.path) else { return XCTFail("expected badMagic") }

        let empty = dir.appendingPathComponent("empty.npy")
        try Data().write(to: empty)
        guard case .badMagic? = readError(empty.path) else { return XCTFail("expected badMagic") }

        let preambleOnly = dir.appendingPathComponent("preamble.npy")
        try Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0x76]).write(to: preambleOnly)
        guard case .truncatedHeader? = readError(preambleOnly.path) else { return XCTFail("expected truncatedHeader") }

        let shortHeader = dir.appendingPathComponent("shortheader.npy")
        try Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0x76, 0] + Array("{'descr'".utf8)).write(to: shortHeader)
        guard case .truncatedHeader? = readError(shortHeader.path) else { return XCTFail("expected truncatedHeader") }
    }

    func testRejectsUnsupportedVersion() throws {
        let dir = try temporaryDirectory()
        let path = try writeRaw(
            "v4.npy", major: 4,
            header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n",
            payload: [0, 0, 0, 0], in: dir)
        XCTAssertEqual(readError(path), .unsupportedVersion(path: path, major: 4, minor: 0))
    }

    func testRejectsMissingFile() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("absent.npy").path
        guard case .cannotRead? = readError(path) else { return XCTFail("expected cannotRead") }
    }

    func testRejectsMalformedHeaders() throws {
        let dir = try temporaryDirectory()
        let cases: [(name: String, header: String)] = [
            ("notdict.npy", "['descr', '<f4']\n"),
            ("missingkey.npy", "{'descr': '<f4', 'shape': (2,), }\n"),
            ("extrakey.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n"),
            ("duplicate.npy", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n"),
            ("shapeint.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }\n"),
            ("shapefloat.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }\n"),
            ("shapestring.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': ('2',), }\n"),
            ("fortranstring.npy", "{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,), }\n"),
            ("descrint.npy", "{'descr': 4, 'fortran_order': False, 'shape': (2,), }\n"),
            ("unterminated.npy", "{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }\n"),
            ("nocolon.npy", "{'descr' '<f4', 'fortran_order': False, 'shape': (2,), }\n"),
            ("unclosed.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)\n"),
            ("garbage.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x\n"),
            ("unknownname.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }\n"),
            ("emptyheader.npy", ""),
        ]
        for (name, header) in cases {
            let path = try writeRaw(name, header: header, payload: [UInt8](repeating: 0, count: 8), in: dir)
            guard case .malformedHeader? = readError(path) else {
                XCTFail("\(name): expected malformedHeader")
                continue
            }
        }
    }

    func testRejectsNegativeExtentAndTrailingData() throws {
        let dir = try temporaryDirectory()
        let negative = try writeRaw(
            "negative.npy",
            header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }\n",
            in: dir)
        guard case .invalidShape? = readError(negative) else { return XCTFail("expected invalidShape") }

        let trailing = try writeRaw(
            "trailing.npy",
            header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n",
            payload: [0, 0, 0, 0, 9], in: dir)
        XCTAssertEqual(readError(trailing), .trailingData(path: trailing, neededBytes: 4, availableBytes: 5))
    }

    func testRejectsStructuredAndOtherDTypes() throws {
        let dir = try temporaryDirectory()
        let structured = try writeRaw(
            "structured.npy",
            header: "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }\n",
            payload: [UInt8](repeating: 0, count: 8), in: dir)
        guard case .unsupportedDType? = readError(structured) else { return XCTFail("expected unsupportedDType") }

        let complex = try writeRaw(
            "complex.npy", header: "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n",
            payload: [UInt8](repeating: 0, count: 8), in: dir)
        XCTAssertEqual(readError(complex), .unsupportedDType(path: complex, descr: "<c8"))
        let bigHalf = try writeRaw(
            "big-half.npy", header: "{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }\n",
            payload: [0, 0], in: dir)
        XCTAssertEqual(readError(bigHalf), .bigEndian(path: bigHalf, descr: ">f2"))
    }

    func testAcceptsHeaderVariants() throws {
        // Double quotes, no trailing comma, key order changed, Python 2 long
        // suffix, no padding and no final newline are all valid Python.
        let dir = try temporaryDirectory()
        let path = try writeRaw(
            "variant.npy",
            header: "{\"shape\": (1L, 2L), \"fortran_order\": False, \"descr\": \"<f8\"}",
            payload: (0 ..< 2).flatMap { i -> [UInt8] in
                withUnsafeBytes(of: Double(i + 1).bitPattern.littleEndian, Array.init)
            }, in: dir)
        let array = try NumpyFile.read(path: path)
        XCTAssertEqual(array.shape, [1, 2])
        XCTAssertEqual(array.values, [1, 2])
    }

    // MARK: Encoding

    func testEncodeDecodeRoundTripInMemory() throws {
        for shape in [[], [0], [5], [3, 4], [2, 3, 4, 5], [4, 0, 2]] as [[Int]] {
            let values = (0 ..< shape.reduce(1, *)).map { Float($0) * -0.75 + 0.5 }
            let data = try values.withUnsafeBufferPointer { try NumpyFile.encode($0, shape: shape, path: "mem.npy") }
            // Version 1.0: magic, 2 version bytes, a 2-byte header length; the data starts at a multiple of 64.
            let headerLength = Int(data[8]) | Int(data[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0, "shape \(shape)")
            XCTAssertEqual(data.count, 10 + headerLength + 4 * values.count)
            let array = try NumpyFile.decode(data, path: "mem.npy")
            XCTAssertEqual(array.shape, shape)
            assertBitwiseEqual(array.values, values)
        }
        XCTAssertThrowsError(
            try [Float(1), 2, 3].withUnsafeBufferPointer { try NumpyFile.encode($0, shape: [2, 2], path: "m.npy") }
        ) {
            XCTAssertEqual($0 as? NumpyFileError, .shapeMismatch(path: "m.npy", shape: [2, 2], valueCount: 3))
        }
    }
}
