import Attention
import XCTest

final class ReferenceErrorTests: XCTestCase {
    func testExactOutputPassesAndTheMeasuresAreTheDefinitions() {
        let reference: [Double] = [3, -4, 0]
        XCTAssert(ReferenceError([3, -4, 0], reference).withinTolerance)
        // o − r = (0, 0, 1e-4): max abs 1e-4 (passes), relative 1e-4 / 5 = 2e-5 (fails).
        let error = ReferenceError([3, -4, 1e-4], reference)
        XCTAssertEqual(error.maxAbsolute, 1e-4, accuracy: 1e-10)  // Float(1e-4) is 1e-4 − 2.5e-12
        XCTAssertEqual(error.relativeFrobenius, 2e-5, accuracy: 1e-10)
        XCTAssertFalse(error.withinTolerance)
    }

    func testNonFiniteOutputsFailEvenWhenTheRestIsExact() {
        let error = ReferenceError([1, .nan, .infinity, 2], [1, 1, 1, 2])
        XCTAssertEqual(error.nonFinite, 2)
        XCTAssertEqual(error.maxAbsolute, 0)
        XCTAssertFalse(error.withinTolerance)
    }

    func testAllZeroReferenceUsesTheAbsoluteNorm() {
        XCTAssertEqual(ReferenceError([3e-6, 4e-6], [0, 0]).relativeFrobenius, 5e-6, accuracy: 1e-12)
    }
}
