import Attention
import AttentionTestSupport
import XCTest

/// Every tile kernel this CPU and build can run, against a plain triple loop,
/// on shapes no register block divides.
final class TileKernelTests: XCTestCase {
    func testTheTableOffersThePortableKernelsAndNamesWhyOthersCannotRun() throws {
        XCTAssert(KernelTable.available.contains(.portable))
        XCTAssert(KernelTable.available.contains(.openblas))
        XCTAssert(KernelTable.available.contains(KernelTable.defaultKernel))
        XCTAssertNotEqual(KernelTable.defaultKernel, .openblas, "the default is a SIMD kernel")
        for id in KernelID.allCases where !KernelTable.available.contains(id) {
            let why = try XCTUnwrap(KernelTable.unavailability(id))
            XCTAssertThrowsError(try KernelTable.require(id)) { XCTAssert("\($0)".contains(why), "\($0)") }
            let shape = try AttentionShape(heads: 1, queryLength: 8, headDim: 16)
            let inputs = AttentionInputs.random(shape: shape, seed: 0)
            XCTAssertThrowsError(
                try TiledAttention(kernel: id).forward(
                    inputs, mask: AttentionMask(.full, shape: shape),
                    output: inputs.makeOutput(), threads: 1))
        }
        XCTAssertEqual(try KernelTable.parse("avx2"), .avx2)
        XCTAssertEqual(try KernelTable.parse("avx2-6x16"), .avx2)
        XCTAssertThrowsError(try KernelTable.parse("neon")) {
            XCTAssert("\($0)".contains("unknown kernel 'neon'"), "\($0)")
        }
    }

    func testEveryAvailableKernelMatchesATripleLoop() {
        for kernel in KernelTable.available {
            // Rows: every block size and the 7- and 8-row remainders; n: every
            // panel width and tail; k: across the kernels' depth chunks.
            for rows in [1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 64, 65] {
                for n in [1, 7, 8, 15, 16, 17, 24, 33, 64, 80] {
                    for k in [0, 1, 5, 64, 65, 130] {
                        for transposed in [false, true] {
                            for accumulate in [false, true] {
                                check(kernel, rows: rows, n: n, k: k, transposed: transposed, accumulate: accumulate)
                            }
                        }
                    }
                }
            }
        }
    }

    func testSIMDKernelsReadHalfPrecisionBAsTheSameProductOfItsWidenedValues() {
        // B stored as f16 or bf16 is widened as it is loaded: the product must
        // be bit for bit the one of B widened to float32 first.
        for kernel in KernelTable.available where kernel != .openblas {
            for (rows, n, k) in [(1, 1, 1), (5, 17, 65), (64, 64, 130), (65, 80, 7), (7, 33, 64)] {
                for transposed in [false, true] {
                    var rng = TestRandom(seed: UInt64(rows * 10_000 + n * 100 + k))
                    let lda = transposed ? rows + 3 : k + 2, ldb = n + 5, ldc = n + 4
                    let a = (0 ..< (transposed ? k * lda : rows * lda)).map { _ in Float(rng.double(in: -1 ... 1)) }
                    let values = (0 ..< k * ldb).map { _ in Float(rng.double(in: -1 ... 1)) }
                    let f16 = values.map { Float16($0) }, bf16 = values.map { BFloat16($0) }
                    func product<B: StorageElement>(_ b: [B]) -> [Float] {
                        var c = [Float](repeating: 0.5, count: rows * ldc)
                        Self.multiply(
                            kernel, a, lda: lda, transposed: transposed, b, ldb: ldb, into: &c, ldc: ldc, rows: rows,
                            n: n, k: k, accumulate: true)
                        return c
                    }
                    let label = "\(kernel) rows \(rows) n \(n) k \(k) transposed \(transposed)"
                    XCTAssertEqual(product(f16), product(f16.map { $0.widened }), "f16 \(label)")
                    XCTAssertEqual(product(bf16), product(bf16.map { $0.widened }), "bf16 \(label)")
                }
            }
        }
    }

    /// C = (accumulate ? C : 0) + A·B for one shape, with a guard band
    /// around C that must stay untouched.
    func check(
        _ kernel: KernelID, rows: Int, n: Int, k: Int, transposed: Bool, accumulate: Bool,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var rng = TestRandom(seed: UInt64(rows * 10_000 + n * 100 + k))
        let lda = transposed ? rows + 3 : k + 2, ldb = n + 5, ldc = n + 4
        let aCount = transposed ? max(k, 1) * lda : max(rows, 1) * lda
        let a = (0 ..< aCount).map { _ in Float(rng.double(in: -1 ... 1)) }
        let b = (0 ..< max(k, 1) * ldb).map { _ in Float(rng.double(in: -1 ... 1)) }
        let guardValue: Float = 12345
        var c = (0 ..< (rows + 2) * ldc).map { i in
            i < rows * ldc && i % ldc < n ? Float(rng.double(in: -1 ... 1)) : guardValue
        }
        var expected = c
        for r in 0 ..< rows {
            for j in 0 ..< n {
                var sum = 0.0
                for p in 0 ..< k {
                    sum += Double(transposed ? a[p * lda + r] : a[r * lda + p]) * Double(b[p * ldb + j])
                }
                expected[r * ldc + j] = Float((accumulate ? Double(c[r * ldc + j]) : 0) + sum)
            }
        }
        Self.multiply(
            kernel, a, lda: lda, transposed: transposed, b, ldb: ldb, into: &c, ldc: ldc, rows: rows, n: n, k: k,
            accumulate: accumulate)
        let worst = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(
            worst, 1e-4, "\(kernel) rows \(rows) n \(n) k \(k) transposed \(transposed) accumulate \(accumulate)",
            file: file, line: line)
        for i in c.indices where !(i < rows * ldc && i % ldc < n) {
            if c[i] != guardValue {
                XCTFail("\(kernel) wrote outside C at \(i) (rows \(rows) n \(n) k \(k))", file: file, line: line)
                return
            }
        }
    }

    /// `KernelTable.multiply` on arrays: A row-major with leading dimension
    /// `lda`, or transposed (its columns `lda` apart).
    static func multiply<B: StorageElement>(
        _ kernel: KernelID, _ a: [Float], lda: Int, transposed: Bool, _ b: [B], ldb: Int, into c: inout [Float],
        ldc: Int, rows: Int, n: Int, k: Int, accumulate: Bool
    ) {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    KernelTable.multiply(
                        kernel, a: a.baseAddress!, aRowStride: transposed ? 1 : lda,
                        aColumnStride: transposed ? lda : 1, b: b.baseAddress!, ldb: ldb,
                        c: c.baseAddress!, ldc: ldc, rows: rows, n: n, k: k, accumulate: accumulate)
                }
            }
        }
    }
}
