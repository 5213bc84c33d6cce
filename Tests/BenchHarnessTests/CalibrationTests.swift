import BenchHarness
import Foundation
import XCTest

/// The sgemm yardstick of a sweep and the interference figures.
final class CalibrationTests: XCTestCase {
    func testRowsUseTheHighestRateAndDisagreementIsAWarning() {
        var log = CalibrationLog(start: 64.5)
        XCTAssertEqual(log.reference, 64.5)
        log.checks = [140, 150, 120]
        XCTAssertEqual(log.reference, 150, "the highest measurement so far")
        log.end = 144.3
        let warning = log.warning
        XCTAssertNotNil(warning)
        XCTAssert(warning!.contains("start 64.5, end 144.3"), warning!)
        XCTAssertEqual(log.spread, (144.3 - 64.5) / 144.3, accuracy: 1e-12, "start, end and the checks' median")
    }

    func testAgreementWithinTenPercentIsQuietEvenWithOneSlowCheck() {
        var log = CalibrationLog(start: 150)
        log.checks = [148, 90, 152, 149, 151]    // one check slowed by a sleeping thread
        log.end = 147
        XCTAssertNil(log.warning, "a single quick check is not the machine's speed")
        XCTAssertEqual(log.reference, 152)
    }

    func testCPUTicksParseProcStat() throws {
        let text = """
            cpu  50551 3 4227 101306 381 7 145 107 0 0
            cpu0 25000 1 2000 50000 200 3 70 50 0 0
            cpu1 25551 2 2227 51306 181 4 75 57 0 0
            intr 12345
            """
        let ticks = try XCTUnwrap(CPUTicks.parse(text))
        XCTAssertEqual(ticks.busy, 50551 + 3 + 4227 + 7 + 145)
        XCTAssertEqual(ticks.steal, 107)
        XCTAssertEqual(ticks.cpus, 2)
        XCTAssertNil(CPUTicks.parse("cpu 1 2 3\n"), "too few fields")
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
