import BenchHarness
import Foundation
import NumpyFormat
import XCTest

/// Writing `.npy` files to a path (BenchHarness's `NumpyFile.write`, which
/// encodes with NumpyFormat and replaces the file through `OutputFile`),
/// read back by this package and by NumPy.
final class NumpyFileWriteTests: XCTestCase {
    // MARK: Helpers

    /// A fresh directory removed when the test ends.
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("NumpyFileTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func assertBitwiseEqual(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), file: file, line: line)
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
