import BenchHarness
import Foundation
import XCTest

/// Expected values were computed with numpy 2.4 (`numpy.median`,
/// `numpy.percentile` with the default linear method, `std(ddof=1)`) and
/// scipy 1.17 (`scipy.stats.mannwhitneyu(a, b, method='asymptotic')`).
final class SampleStatisticsTests: XCTestCase {
    private let odd: [Double] = [12.5, 3.0, 7.25, 9.0, 4.5, 15.0, 6.0]
    private let even: [Double] = [10.0, 2.0, 8.0, 4.0, 6.0, 12.0]

    func testOddCount() throws {
        let s = try SampleStatistics(odd)
        XCTAssertEqual(s.count, 7)
        XCTAssertEqual(s.min, 3.0)
        XCTAssertEqual(s.max, 15.0)
        XCTAssertEqual(s.median, 7.25)
        XCTAssertEqual(s.mean, 8.178571428571429, accuracy: 1e-12)
        XCTAssertEqual(s.standardDeviation, 4.317392842026418, accuracy: 1e-12)
        XCTAssertEqual(s.p10, 3.9000000000000004, accuracy: 1e-12)
        XCTAssertEqual(s.p90, 13.5, accuracy: 1e-12)
        XCTAssertEqual(s.percentile(37.5), 6.3125, accuracy: 1e-12)
        XCTAssertEqual(s.sortedSamples, odd.sorted())
    }

    func testEvenCountMedianAveragesMiddlePair() throws {
        let s = try SampleStatistics(even)
        XCTAssertEqual(s.median, 7.0)
        XCTAssertEqual(s.mean, 7.0, accuracy: 1e-12)
        XCTAssertEqual(s.standardDeviation, 3.7416573867739413, accuracy: 1e-12)
        XCTAssertEqual(s.p10, 3.0, accuracy: 1e-12)
        XCTAssertEqual(s.p90, 11.0, accuracy: 1e-12)
        XCTAssertEqual(s.percentile(37.5), 5.75, accuracy: 1e-12)
    }

    func testPercentileEndpointsAndOrderIndependence() throws {
        let s = try SampleStatistics(odd)
        XCTAssertEqual(s.percentile(0), s.min)
        XCTAssertEqual(s.percentile(100), s.max)
        XCTAssertEqual(s.percentile(50), s.median)
        XCTAssertEqual(try SampleStatistics(odd.reversed()), s)
        XCTAssertEqual(try SampleStatistics(odd.sorted()), s)
    }

    func testSingleSample() throws {
        let s = try SampleStatistics([4.2])
        XCTAssertEqual(s.count, 1)
        XCTAssertEqual(s.standardDeviation, 0)
        for value in [s.min, s.max, s.mean, s.median, s.p10, s.p90, s.percentile(73)] {
            XCTAssertEqual(value, 4.2)
        }
    }

    func testConstantSamplesHaveZeroSpread() throws {
        let s = try SampleStatistics([2.5, 2.5, 2.5, 2.5])
        XCTAssertEqual(s.standardDeviation, 0)
        XCTAssertEqual(s.p10, 2.5)
        XCTAssertEqual(s.p90, 2.5)
    }

    func testRejectsEmptyAndNonFinite() {
        XCTAssertThrowsError(try SampleStatistics([])) { error in
            XCTAssertEqual(error as? SampleStatisticsError, .empty)
        }
        XCTAssertThrowsError(try SampleStatistics([1, .infinity, 2])) { error in
            XCTAssertEqual(error as? SampleStatisticsError, .nonFinite(index: 1, value: .infinity))
        }
        XCTAssertThrowsError(try SampleStatistics([1, 2, .nan])) { error in
            guard case .nonFinite(let index, _)? = error as? SampleStatisticsError else {
                return XCTFail("expected nonFinite")
            }
            XCTAssertEqual(index, 2)
        }
    }

    func testCodableRoundTrip() throws {
        let s = try SampleStatistics(odd)
        let json = try JSONEncoder().encode(s)
        let text = String(decoding: json, as: UTF8.self)
        for key in ["count", "min", "max", "mean", "median", "standardDeviation", "p10", "p90", "sortedSamples"] {
            XCTAssertTrue(text.contains("\"\(key)\""), "missing \(key) in \(text)")
        }
        XCTAssertEqual(try JSONDecoder().decode(SampleStatistics.self, from: json), s)

        let empty = Data(#"{"sortedSamples": []}"#.utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(SampleStatistics.self, from: empty))
    }

    // MARK: Mann-Whitney U

    private let fast: [Double] = [10.1, 10.3, 9.8, 10.0, 10.2, 10.4, 9.9, 10.05, 10.15, 10.25]
    private let slow: [Double] = [12.1, 12.3, 11.8, 12.0, 12.2, 12.4, 11.9, 12.05, 12.15, 12.25]

    func testMannWhitneySeparatedSamples() {
        let r = SampleStatistics.mannWhitneyU(fast, slow)
        XCTAssertEqual(r.u, 0)
        XCTAssertLessThan(r.z, 0)
        XCTAssertEqual(r.pValue, 0.00018267179110955002, accuracy: 1e-12)

        let reversed = SampleStatistics.mannWhitneyU(slow, fast)
        XCTAssertEqual(reversed.u, 100)
        XCTAssertEqual(reversed.z, -r.z, accuracy: 1e-12)
        XCTAssertEqual(reversed.pValue, r.pValue, accuracy: 1e-15)
    }

    func testMannWhitneyWithTies() {
        let r = SampleStatistics.mannWhitneyU([1, 2, 2, 3, 3, 3, 4, 5], [2, 3, 3, 4, 4, 5, 6, 6, 7])
        XCTAssertEqual(r.u, 16.5)
        XCTAssertEqual(r.pValue, 0.062484795672341206, accuracy: 1e-12)
    }

    func testMannWhitneyIdenticalSamples() {
        let same = SampleStatistics.mannWhitneyU(fast, fast)
        XCTAssertEqual(same.u, 50)
        XCTAssertEqual(same.z, 0)
        XCTAssertEqual(same.pValue, 1, accuracy: 1e-12)

        let constant = SampleStatistics.mannWhitneyU([5, 5, 5, 5, 5, 5, 5, 5], [5, 5, 5, 5, 5, 5, 5, 5])
        XCTAssertEqual(constant.u, 32)
        XCTAssertEqual(constant.z, 0)
        XCTAssertEqual(constant.pValue, 1)
    }

    func testMannWhitneyTinyAndEmptySamples() {
        // Complete separation of 3 vs 3 cannot reach p < 0.05 under the approximation.
        let tiny = SampleStatistics.mannWhitneyU([1, 2, 3], [4, 5, 6])
        XCTAssertEqual(tiny.u, 0)
        XCTAssertEqual(tiny.pValue, 0.08085559837005224, accuracy: 1e-12)

        let empty = SampleStatistics.mannWhitneyU([], [1, 2, 3])
        XCTAssertEqual(empty.u, 0)
        XCTAssertEqual(empty.z, 0)
        XCTAssertEqual(empty.pValue, 1)
    }
}
