import Attention
import Foundation

/// A case placed against the machine's two limits (Williams, Waterman and
/// Patterson's roofline): the compute roof, the measured peak of the FMA its
/// kernel uses (``PeakCalibration``), and the memory roof, the streaming
/// read bandwidth times the case's arithmetic intensity.
///
///     bytes      = 4·(2·B·H·Nq·d + 2·B·Hkv·K·d)   Q and O once, K and V once (float32)
///     intensity  = useful FLOPs / bytes             FLOP per byte
///     roof       = min(peak, intensity · bandwidth)
///     bound      = memory when intensity · bandwidth < peak, else compute
///
/// `cblas_sgemm` is not a roof: it is a tuned program, a reference line of
/// what a good kernel reaches, and below the peak by its own overheads.
///
/// `K` is the number of keys some query row attends
/// (``AttentionMask/attendedKeyUnionCount()``): a window over a long cache
/// must read only its keys. The bytes are a lower bound on the traffic, so
/// the achieved GB/s is a lower bound too, and `fractionOfBandwidth` near 1
/// means the case streams its data as fast as the machine can read.
public struct Roofline: Sendable, Equatable {
    public let minimumBytes: Int
    public let usefulFlops: Double

    /// The minimum traffic of `shape` under `mask` with elements stored in
    /// `precision` (a half-precision case moves half the bytes).
    public init(shape s: AttentionShape, mask: AttentionMask, precision: Precision = .f32) {
        let queries = 2 * s.batch * s.heads * s.queryLength * s.headDim
        let keys = 2 * s.batch * s.kvHeads * mask.attendedKeyUnionCount() * s.headDim
        minimumBytes = (queries + keys) * precision.bytes
        usefulFlops = 4 * Double(s.batch * s.heads * s.headDim) * Double(mask.attendedPairs)
    }

    public init(minimumBytes: Int, usefulFlops: Double) {
        self.minimumBytes = minimumBytes
        self.usefulFlops = usefulFlops
    }

    /// Useful FLOPs per byte of minimum traffic.
    public var intensity: Double { minimumBytes > 0 ? usefulFlops / Double(minimumBytes) : 0 }

    /// GB/s (10⁹ bytes/s) of the minimum traffic in `seconds`.
    public func achievedGBps(seconds: Double) -> Double { Double(minimumBytes) / seconds / 1e9 }

    /// The roof at this intensity, GFLOP/s.
    public func roof(peakGflops: Double, bandwidthGBps: Double) -> Double {
        min(peakGflops, intensity * bandwidthGBps)
    }

    /// `memory` below the ridge point (intensity < peak / bandwidth), else `compute`.
    public func bound(peakGflops: Double, bandwidthGBps: Double) -> String {
        intensity * bandwidthGBps < peakGflops ? "memory" : "compute"
    }

    /// Whether the minimum traffic fits a last-level cache of `cacheBytes`
    /// (false when the size is unknown, 0). Such a case's repeated runs read
    /// its inputs from that cache, so it can pass the DRAM read bandwidth
    /// without anything having moved: the DRAM roof is not its limit.
    public func fitsInCache(_ cacheBytes: Int) -> Bool { cacheBytes > 0 && minimumBytes <= cacheBytes }

    /// Why `place` is above the DRAM roof, when it is and the case is
    /// cache-resident (``fitsInCache(_:)``); nil otherwise. A known cause at
    /// any fraction above 1, unlike a moved roof, which is only suspected
    /// past the roof's own disagreement.
    public func cacheResidentNote(_ place: Placement, cacheBytes: Int) -> String? {
        guard place.fractionOfBandwidth > 1, fitsInCache(cacheBytes) else { return nil }
        return String(
            format:
                "cache-resident: reads %@ per run, within the %@ last-level cache, so repeated runs read it from cache at %.1f GB/s (%.0f%% of the DRAM read bandwidth); the DRAM roof is not its limit",
            Bytes.format(minimumBytes), Bytes.format(cacheBytes), place.achievedGBps, place.fractionOfBandwidth * 100)
    }

    /// A measured case against both roofs.
    public struct Placement: Sendable, Equatable {
        /// GB/s of the minimum traffic.
        public let achievedGBps: Double
        /// `achievedGBps` over the read bandwidth.
        public let fractionOfBandwidth: Double
        /// `memory` or `compute` (see ``Roofline/bound(peakGflops:bandwidthGBps:)``).
        public let bound: String
        /// Useful GFLOP/s over the compute peak.
        public let fractionOfPeak: Double
        /// Useful GFLOP/s over the roof that applies.
        public let fractionOfRoof: Double
    }

    /// Where a case that took `seconds` lands under the roofs `peakGflops` and `bandwidthGBps`.
    public func placement(seconds: Double, peakGflops: Double, bandwidthGBps: Double) -> Placement {
        let achieved = achievedGBps(seconds: seconds)
        let gflops = usefulFlops / seconds / 1e9
        return Placement(
            achievedGBps: achieved, fractionOfBandwidth: achieved / bandwidthGBps,
            bound: bound(peakGflops: peakGflops, bandwidthGBps: bandwidthGBps), fractionOfPeak: gflops / peakGflops,
            fractionOfRoof: gflops / roof(peakGflops: peakGflops, bandwidthGBps: bandwidthGBps))
    }
}
