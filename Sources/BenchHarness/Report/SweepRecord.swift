import Attention
import Foundation

/// How a sweep case ended.
public enum CaseStatus: String, Codable, Sendable, CaseIterable {
    /// Measured and verified within tolerance.
    case ok
    /// Measured, but the output differs from the reference beyond tolerance.
    case wrong
    /// Not started: predicted memory or time over the budget.
    case skipped
    /// The strategy does not compute this pattern.
    case unsupported
    /// The child crashed, was killed or reported an error.
    case failed
    /// The child ran past `--timeout`.
    case timeout
}

/// One row of a sweep report: the case, how it ended and, when it ran, what
/// was measured. ``ReportSchema`` turns it into CSV cells.
public struct SweepRecord: Sendable {
    public var key: CaseKey
    public var status: CaseStatus
    public var reason: String
    public var result: CaseResult?
    public var predictedExtraBytes: Int?
    public var inputBytes: Int
    public var density: Double?
    public var attendedPairs: Int?
    /// The sweep's reference `cblas_sgemm` rate when the row was written
    /// (``CalibrationLog/reference``), same threads.
    public var sgemmGflops: Double?
    /// The quick sgemm check taken just before this case.
    public var sgemmLocalGflops: Double?
    /// The sweep's reference streaming read bandwidth, GB/s, same threads
    /// (``BandwidthLog/reference``).
    public var readBandwidthGBps: Double?
    /// The quick bandwidth check taken just before this case: the memory
    /// roof of the row's roofline (the sweep's reference when missing).
    public var readBandwidthLocalGBps: Double?
    /// The instruction whose peak is the row's compute roof
    /// (``PeakInstruction/forResult(_:)``), and that peak, same threads.
    public var peakInstruction: PeakInstruction?
    public var peakGflops: Double?
    /// Why the row's roofline fractions are not to be trusted, when one of
    /// them exceeds 1 by more than the sweep's own measurements of that
    /// roof disagree: the roof moved while the case ran. Marks the row
    /// `disturbed`, with this as its reason.
    public var roofNote: String?
    /// Why the row's memory fraction above 1 is expected rather than a
    /// moved roof: its minimum traffic fits the last-level cache
    /// (``Roofline/fitsInCache(_:)``). The row's reason; not `disturbed`.
    public var cacheNote: String?
    /// How busy the machine was elsewhere while the case ran.
    public var interference: Interference?
    public var seed: UInt64
    public var finishedAt: Date

    /// The row's place on the roofline, for a measured case.
    public var roofline: Roofline? { result?.roofline }
    /// The median time in seconds, for a measured case.
    var medianSeconds: Double? { result.map { $0.statistics.median * 1e-3 } }
    /// The measured case against both roofs: its kernel's compute peak and
    /// the bandwidth measured next to it (nil without a measurement or a
    /// calibration).
    var placement: Roofline.Placement? {
        guard let roofline, let seconds = medianSeconds, let peak = peakGflops,
            let bandwidth = readBandwidthLocalGBps ?? readBandwidthGBps
        else { return nil }
        return roofline.placement(seconds: seconds, peakGflops: peak, bandwidthGBps: bandwidth)
    }

    /// Whether the row is marked `disturbed`: by other processes or the
    /// hypervisor (``Interference``), or by a roof that moved (``roofNote``).
    public var isDisturbed: Bool { interference?.isDisturbed == true || roofNote != nil }

    /// Sets the row's roofs: the peak of its kernel's instruction from
    /// `peaks`, the sweep's bandwidth `reference`, and ``roofNote`` when a
    /// fraction exceeds 1 by more than the roof's measurements disagreed
    /// (`peakSpread` for its instruction, `bandwidthSpread`). Any memory
    /// fraction above 1 of a case whose traffic fits `lastLevelCacheBytes`
    /// sets ``cacheNote`` instead.
    public mutating func placeAgainst(
        peaks: [PeakInstruction: Double], peakSpread: [PeakInstruction: Double], bandwidth reference: Double,
        bandwidthSpread: Double, lastLevelCacheBytes: Int = BandwidthCalibration.lastLevelCacheBytes
    ) {
        readBandwidthGBps = reference
        guard let result else { return }
        peakInstruction = PeakInstruction.forResult(result, available: Array(peaks.keys))
        peakGflops = peakInstruction.flatMap { peaks[$0] }
        roofNote = nil
        cacheNote = nil
        guard let p = placement, let instruction = peakInstruction, let roofline else { return }
        let bandwidth = readBandwidthLocalGBps ?? reference
        cacheNote = roofline.cacheResidentNote(p, cacheBytes: lastLevelCacheBytes)
        guard cacheNote == nil else { return }
        if p.fractionOfBandwidth > 1 + bandwidthSpread {
            roofNote = String(
                format:
                    "achieved %.1f GB/s, %.0f%% of the read bandwidth measured before the case (%.1f GB/s), more than the sweep's bandwidth measurements disagree (%.0f%%): the bandwidth moved while the case ran",
                p.achievedGBps, p.fractionOfBandwidth * 100, bandwidth, bandwidthSpread * 100)
        } else if p.fractionOfPeak > 1 + (peakSpread[instruction] ?? 0) {
            roofNote = String(
                format:
                    "%.1f GFLOP/s, %.0f%% of the measured %@ peak (%.1f GFLOP/s): the peak was measured low (the machine's speed changed)",
                result.usefulGflops, p.fractionOfPeak * 100, instruction.rawValue, peakGflops ?? 0)
        }
    }

    public init(
        key: CaseKey, status: CaseStatus, reason: String = "", result: CaseResult? = nil,
        predictedExtraBytes: Int? = nil, inputBytes: Int, density: Double? = nil, attendedPairs: Int? = nil,
        sgemmGflops: Double?, sgemmLocalGflops: Double? = nil, readBandwidthGBps: Double? = nil,
        interference: Interference? = nil, seed: UInt64, finishedAt: Date = Date()
    ) {
        self.key = key
        self.status = status
        self.reason = reason
        self.result = result
        self.predictedExtraBytes = predictedExtraBytes ?? result?.predictedExtraBytes
        self.inputBytes = inputBytes
        self.density = density ?? result?.density
        self.attendedPairs = attendedPairs ?? result?.attendedPairs
        self.sgemmGflops = sgemmGflops
        self.sgemmLocalGflops = sgemmLocalGflops
        self.readBandwidthGBps = readBandwidthGBps
        self.interference = interference
        self.seed = seed
        self.finishedAt = finishedAt
    }
}
