import Attention
import BenchHarness
import Foundation
import XCTest

/// The roofs of a sweep (the compute peak, the read bandwidth), the sgemm
/// yardstick and the interference figures.
final class CalibrationTests: XCTestCase {
    /// The peak loops run and are not optimized away: a removed loop or
    /// merged chains would read above what any core of this kind can issue
    /// (6 GHz × 2 FMA pipes), a broken one at or near 0. Each rate is the
    /// best of three calibrations, so that a neighbour taking the core for a
    /// few milliseconds cannot make a wide loop look narrow.
    func testThePeakLoopsMeasureWhatTheCoresCanIssue() throws {
        let supported = PeakCalibration.supported
        XCTAssert(supported.contains(.fma128), "\(supported)")
        let calibration = PeakCalibration(threads: 1, runSeconds: 0.01)
        let peaks = (0 ..< 3).map { _ in calibration.full() }.reduce(into: [PeakInstruction: Double]()) { best, run in
            best.merge(run, uniquingKeysWith: max)
        }
        XCTAssertEqual(Set(peaks.keys), Set(supported))
        for (instruction, rate) in peaks {
            let lanes: Double = [.fma512: 16, .fma256: 8, .fma128: 4, .bf16dot512: 32][instruction]!
            XCTAssertGreaterThan(rate, 1, "\(instruction)")
            XCTAssertLessThan(rate, 6 * 2 * lanes * 2, "\(instruction): faster than a core can issue")
        }
        if let wide = peaks[.fma512] ?? peaks[.fma256], let narrow = peaks[.fma128] {
            XCTAssertGreaterThan(wide, narrow, "wider FMAs do more work per instruction")
        }
    }

    func testEachKernelHasTheRoofOfItsWidth() {
        XCTAssertEqual(PeakInstruction.openBLAS(core: "SkylakeX"), .fma512)
        XCTAssertEqual(PeakInstruction.openBLAS(core: "Cooperlake"), .fma512)
        XCTAssertEqual(PeakInstruction.openBLAS(core: "Haswell"), .fma256)
        XCTAssertEqual(PeakInstruction.openBLAS(core: "Zen"), .fma256)
        XCTAssertEqual(PeakInstruction.openBLAS(core: "Prescott"), .fma128)
        XCTAssertEqual(PeakInstruction.fma(lanes: KernelTable.descriptor(.avx512).vectorFloats), .fma512)
        XCTAssertEqual(PeakInstruction.fma(lanes: KernelTable.descriptor(.avx2).vectorFloats), .fma256)
        XCTAssertEqual(PeakInstruction.fma(lanes: KernelTable.descriptor(.portable).vectorFloats), .fma128)
    }

    func testPeakAndBandwidthDisagreementAreWarnings() {
        var peaks = PeakLog(start: [.fma512: 480, .fma256: 240])
        peaks.end = [.fma512: 400, .fma256: 238]
        XCTAssertEqual(peaks.reference, [.fma512: 480, .fma256: 240])
        XCTAssertEqual(peaks.spread[.fma512]!, 80.0 / 480, accuracy: 1e-12)
        XCTAssert(peaks.warning?.contains("the fma-512 peak disagreed by 17%") == true, peaks.warning ?? "")
        XCTAssertFalse(peaks.warning!.contains("fma-256"))

        var bandwidth = BandwidthLog(start: 46.6)
        bandwidth.checks = [45, 47, 48]
        bandwidth.end = 47
        XCTAssertNil(bandwidth.warning)
        bandwidth.end = 77.9
        XCTAssertEqual(bandwidth.reference, 77.9)
        XCTAssertEqual(bandwidth.spread, (77.9 - 45) / 77.9, accuracy: 1e-12)
        XCTAssert(
            bandwidth.warning?.contains("the read bandwidth disagreed by 42%") == true, bandwidth.warning ?? "")
    }

    /// A row above a roof by more than that roof's measurements disagree is
    /// marked disturbed with the reason, never a clean 120%.
    func testARowAboveItsRoofIsMarked() throws {
        let shape = try AttentionShape(heads: 32, kvHeads: 8, queryLength: 1, keyLength: 131072, headDim: 128)
        let mask = try AttentionMask(.full, shape: shape)
        let bytes = Roofline(shape: shape, mask: mask).minimumBytes
        func record(medianMs: Double) throws -> SweepRecord {
            let config = CaseConfig(
                strategy: "tiled", shape: shape, pattern: "full", threads: 2, repetitions: .fixed(warmup: 0, reps: 1),
                verify: false)
            var result = try CaseRunner.run(
                CaseConfig(
                    strategy: "tiled", shape: try AttentionShape(heads: 1, queryLength: 8, headDim: 8), pattern: "full",
                    threads: 1, repetitions: .fixed(warmup: 0, reps: 1), verify: false))
            result.config = config
            result.minimumBytes = bytes
            result.usefulFlops = 4 * Double(32 * 128) * Double(mask.attendedPairs)
            result.statistics = try SampleStatistics([medianMs])
            result.usefulGflops = result.usefulFlops / (medianMs * 1e-3) / 1e9
            var r = SweepRecord(
                key: CaseKey(config), status: .ok, result: result, inputBytes: 0, sgemmGflops: 300, seed: 0)
            r.readBandwidthLocalGBps = 50
            return r
        }
        let atBandwidth = Double(bytes) / 50e9 * 1e3  // ms at exactly 50 GB/s
        let peaks: [PeakInstruction: Double] = [.fma512: 480, .fma256: 240, .fma128: 120]
        var clean = try record(medianMs: atBandwidth / 0.95)
        clean.placeAgainst(peaks: peaks, peakSpread: [:], bandwidth: 52, bandwidthSpread: 0.05)
        XCTAssertNil(clean.roofNote)
        XCTAssertFalse(clean.isDisturbed)
        var over = try record(medianMs: atBandwidth / 1.2)
        over.placeAgainst(
            peaks: peaks, peakSpread: [:], bandwidth: 52, bandwidthSpread: 0.05, lastLevelCacheBytes: 256 << 20)
        XCTAssert(
            over.roofNote?.contains("120% of the read bandwidth measured before the case") == true, over.roofNote ?? "")
        XCTAssertNil(over.cacheNote)
        XCTAssert(over.isDisturbed)
        XCTAssertNotNil(over.peakGflops)
        // The same speed from a case whose traffic fits the last-level
        // cache is expected: a reason, not a disturbance.
        var cached = try record(medianMs: atBandwidth / 1.2)
        cached.placeAgainst(
            peaks: peaks, peakSpread: [:], bandwidth: 52, bandwidthSpread: 0.05, lastLevelCacheBytes: 2 << 30)
        XCTAssertNil(cached.roofNote)
        XCTAssert(
            cached.cacheNote?.hasPrefix("cache-resident: reads 1.0 GiB per run, within the 2.0 GiB") == true,
            cached.cacheNote ?? "")
        XCTAssertFalse(cached.isDisturbed)
        // Even within the bandwidth's disagreement: the cause is known.
        cached.placeAgainst(
            peaks: peaks, peakSpread: [:], bandwidth: 52, bandwidthSpread: 0.5, lastLevelCacheBytes: 2 << 30)
        XCTAssertNotNil(cached.cacheNote)
        // Within the measurements' own disagreement it is not marked.
        var within = try record(medianMs: atBandwidth / 1.2)
        within.placeAgainst(peaks: peaks, peakSpread: [:], bandwidth: 52, bandwidthSpread: 0.25)
        XCTAssertNil(within.roofNote)
    }

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
