import BenchHarness
import Foundation
import XCTest

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
            "\(path): dtype '<i4' is not supported (allowed: <f4 float32, <f8 float64)")
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

        let half = try writeRaw(
            "half.npy", header: "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }\n",
            payload: [0, 0], in: dir)
        XCTAssertEqual(readError(half), .unsupportedDType(path: half, descr: "<f2"))
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

    // MARK: Writing

    func testWriteReadRoundTrip() throws {
        let dir = try temporaryDirectory()
        let shapes: [[Int]] = [[], [0], [7], [3, 4], [2, 3, 4, 5], [1, 1, 17], [4, 0, 2], [2, 2, 2, 2, 2]]
        for (index, shape) in shapes.enumerated() {
            let count = shape.reduce(1, *)
            var values = (0 ..< count).map { Float(sin(Double($0) * 1.7 + Double(index))) * 1000 }
            if count >= 4 {
                values[0] = -0.0
                values[1] = .infinity
                values[2] = -.greatestFiniteMagnitude
                values[3] = .leastNonzeroMagnitude
            }
            let path = dir.appendingPathComponent("shape\(index).npy").path
            try NumpyFile.write(values, shape: shape, to: path)

            let array = try NumpyFile.read(path: path)
            XCTAssertEqual(array.shape, shape)
            assertBitwiseEqual(array.values, values)

            // Version 1.0, '\n' ending the header, data starting at a multiple of 64.
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(bytes[6], 1)
            XCTAssertEqual(bytes[7], 0)
            let dataStart = 10 + Int(bytes[8]) + Int(bytes[9]) << 8
            XCTAssertEqual(dataStart % 64, 0, "shape \(shape)")
            XCTAssertEqual(bytes.count, dataStart + 4 * count)
            XCTAssertEqual(bytes[dataStart - 1], UInt8(ascii: "\n"))
        }
    }

    func testWriteFromBufferAndNumpyArray() throws {
        let dir = try temporaryDirectory()
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let bufferPath = dir.appendingPathComponent("buffer.npy").path
        try values.withUnsafeBufferPointer { try NumpyFile.write($0, shape: [3, 2], to: bufferPath) }
        let array = try NumpyFile.read(path: bufferPath)
        XCTAssertEqual(array, NumpyArray(shape: [3, 2], values: values))

        let copyPath = dir.appendingPathComponent("copy.npy").path
        try NumpyFile.write(array, to: copyPath)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: copyPath)),
            try Data(contentsOf: URL(fileURLWithPath: bufferPath)))
    }

    func testWriteRejectsShapeMismatchAndBadDirectory() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("mismatch.npy").path
        XCTAssertThrowsError(try NumpyFile.write([1, 2, 3], shape: [2, 2], to: path)) { error in
            XCTAssertEqual(error as? NumpyFileError, .shapeMismatch(path: path, shape: [2, 2], valueCount: 3))
            XCTAssertTrue("\(error)".contains("mismatch.npy"))
        }
        XCTAssertThrowsError(try NumpyFile.write([1], shape: [-1], to: path)) { error in
            XCTAssertEqual(error as? NumpyFileError, .shapeMismatch(path: path, shape: [-1], valueCount: 1))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))

        let unwritable = dir.appendingPathComponent("no/such/dir/out.npy").path
        XCTAssertThrowsError(try NumpyFile.write([1], shape: [1], to: unwritable)) { error in
            guard case .cannotWrite? = error as? NumpyFileError else {
                return XCTFail("expected cannotWrite: \(error)")
            }
            XCTAssertTrue("\(error)".contains("out.npy"))
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }

    // MARK: Interoperability

    /// Runs python3 with `arguments`; nil if python3 cannot be started.
    private func runPython(_ arguments: [String]) -> (status: Int32, output: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    func testNumpyReadsSwiftWrittenFile() throws {
        guard let probe = runPython(["-c", "import numpy"]), probe.status == 0 else {
            throw XCTSkip("python3 with numpy is not available")
        }
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("from_swift.npy").path
        try NumpyFile.write((0 ..< 24).map { Float($0) * 0.25 }, shape: [2, 3, 4], to: path)

        let script = "import sys, numpy; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype, float(a.sum()))"
        let result = try XCTUnwrap(runPython(["-c", script, path]))
        XCTAssertEqual(result.status, 0)
        // 0.25 · (0 + 1 + … + 23) = 0.25 · 276 = 69.
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "(2, 3, 4) float32 69.0")
    }
}
