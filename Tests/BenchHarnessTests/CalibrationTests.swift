import BenchHarness
import Foundation
import XCTest

/// The sgemm yardstick of a sweep and the interference figures.
final class CalibrationTests: XCTestCase {
    func testRowsUseTheHighestRobustRateAndDisagreementIsAWarning() {
        var log = CalibrationLog(start: 64.5)
        XCTAssertEqual(log.reference, 64.5)
        log.checks = [140, 150, 120]
        XCTAssertEqual(log.reference, 140, "the median check, not the single fastest one")
        log.end = 144.3
        XCTAssertEqual(log.reference, 144.3)
        let warning = log.warning
        XCTAssertNotNil(warning)
        XCTAssert(warning!.contains("start 64.5, end 144.3, checks between cases median 140.0"), warning!)
        XCTAssertEqual(log.spread, (144.3 - 64.5) / 144.3, accuracy: 1e-12)
    }

    func testAgreementWithinTenPercentIsQuietEvenWithOneOddCheck() {
        var log = CalibrationLog(start: 150)
        log.checks = [148, 90, 152, 149, 190]  // one check slowed by a sleeping thread, one lucky
        log.end = 147
        XCTAssertNil(log.warning, "a single quick check is not the machine's speed")
        XCTAssertEqual(log.reference, 150)
    }

    func testCPUTicksParseProcStatOverTheAllowedCPUs() throws {
        let text = """
            cpu  50551 3 4227 101306 381 7 145 107 0 0
            cpu0 25000 1 2000 50000 200 3 70 50 0 0
            cpu1 25551 2 2227 51306 181 4 75 57 0 0
            intr 12345
            """
        let all = try XCTUnwrap(CPUTicks.parse(text))
        XCTAssertEqual(all.busy, 25000 + 1 + 2000 + 3 + 70 + 25551 + 2 + 2227 + 4 + 75)
        XCTAssertEqual(all.steal, 107)
        XCTAssertEqual(all.cpus, 2)
        let one = try XCTUnwrap(CPUTicks.parse(text, cpus: [1]))
        XCTAssertEqual(one.busy, 25551 + 2 + 2227 + 4 + 75)
        XCTAssertEqual(one.cpus, 1)
        XCTAssertNil(CPUTicks.parse("cpu0 1 2 3\n"), "too few fields")
        XCTAssertNil(CPUTicks.parse(text, cpus: [7]), "no such CPU")
        XCTAssertEqual(CPUTicks.parseCPUList("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11])
        XCTAssertNil(CPUTicks.parseCPUList("3-1"))
    }

    func testInterferenceOfRoundsIsWeightedByTime() throws {
        let quiet = Interference(otherCPUPercent: 1, stealPercent: 0, wallSeconds: 3)
        let busy = Interference(otherCPUPercent: 41, stealPercent: 4, wallSeconds: 1)
        let both = try XCTUnwrap(Interference.combined([quiet, busy]))
        XCTAssertEqual(both.otherCPUPercent, 11, accuracy: 1e-12)
        XCTAssertEqual(both.stealPercent, 1, accuracy: 1e-12)
        XCTAssertEqual(both.wallSeconds, 4)
        XCTAssertTrue(both.isDisturbed)
        XCTAssertFalse(quiet.isDisturbed)
        XCTAssertTrue(Interference(otherCPUPercent: 0, stealPercent: 3, wallSeconds: 1).isDisturbed, "steal alone")
    }

    func testAProbeOfAnIdleSpellReadsLittle() throws {
        let probe = InterferenceProbe.start()
        usleep(200_000)
        let i = try XCTUnwrap(probe.finish(), "/proc/stat is readable on Linux")
        XCTAssertGreaterThanOrEqual(i.otherCPUPercent, 0)
        XCTAssertLessThanOrEqual(i.otherCPUPercent, 100)
        XCTAssertEqual(i.wallSeconds, 0.2, accuracy: 0.15)
    }
}
