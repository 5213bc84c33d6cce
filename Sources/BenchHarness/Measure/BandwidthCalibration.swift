import Attention
import Dispatch
import Foundation

/// The machine's streaming read bandwidth with the threads a case uses: the
/// memory roof of the roofline, as ``GEMMCalibration`` is the compute roof.
///
/// Each of `threads` workers sums its own contiguous share of one buffer
/// much larger than the last-level cache (at least 4 × the LLC and 512 MiB),
/// sixteen floats a load with four independent accumulators, so the loads
/// never wait on the additions. The rate is `bytes / t` in GB/s (10⁹ bytes/s);
/// of several passes the **fastest** counts, for the reason given at
/// ``GEMMCalibration``. The buffer is written once before the first pass, so
/// no pass pays for page faults.
public final class BandwidthCalibration {
    public let bytes: Int
    public let threads: Int
    private let buffer: AlignedBuffer

    /// Allocates and touches the buffer: `bytes` rounded to whole 64-byte lines,
    /// by default ``defaultBytes``.
    public init(bytes: Int? = nil, threads: Int) {
        let floats = max(1 << 14, (bytes ?? Self.defaultBytes) / 64 * 16)
        self.bytes = floats * MemoryLayout<Float>.stride
        self.threads = max(1, threads)
        buffer = AlignedBuffer(count: floats, zeroed: false)
        var g = NormalGenerator(seed: 2)
        g.fill(UnsafeMutableBufferPointer(start: buffer.baseAddress, count: min(floats, 1 << 16)))
        // The rest repeats the first lines: the values do not matter, only that every page is mapped.
        var filled = min(floats, 1 << 16)
        while filled < floats {
            let n = min(filled, floats - filled)
            (buffer.baseAddress + filled).update(from: buffer.baseAddress, count: n)
            filled += n
        }
    }

    /// 4 × the last-level cache, at least 512 MiB: far enough past every
    /// cache that the reads come from memory, small enough to be measured
    /// before every case.
    public static var defaultBytes: Int { max(512 << 20, 4 * lastLevelCacheBytes) }

    /// The largest data cache Linux reports for CPU 0 (0 when unknown).
    public static var lastLevelCacheBytes: Int {
        let dir = "/sys/devices/system/cpu/cpu0/cache"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return 0 }
        var largest = 0
        for entry in entries where entry.hasPrefix("index") {
            guard let type = try? String(contentsOfFile: "\(dir)/\(entry)/type", encoding: .utf8),
                type.hasPrefix("Data") || type.hasPrefix("Unified"),
                let size = try? String(contentsOfFile: "\(dir)/\(entry)/size", encoding: .utf8)
            else { continue }
            let text = size.trimmingCharacters(in: .whitespacesAndNewlines)
            let scale = text.hasSuffix("K") ? 1 << 10 : text.hasSuffix("M") ? 1 << 20 : 1
            largest = max(largest, (Int(text.filter(\.isNumber)) ?? 0) * scale)
        }
        return largest
    }

    /// GB/s of the fastest of `reps` passes after `warmup` untimed ones.
    public func rate(reps: Int, warmup: Int) -> Double {
        let times = Stopwatch.measure(.fixed(warmup: warmup, reps: max(1, reps))) { _ = readOnce() }
        return Double(bytes) / (times.min()! * 1e-3) / 1e9
    }

    /// The careful measurement at the start and the end of a sweep: the best
    /// of 5 passes after one warm-up (about 0.1 s a pass for 512 MiB).
    public func full() -> Double { rate(reps: 5, warmup: 1) }

    /// The check just before a case: the better of two passes after one
    /// warm-up (the first pass after a case may still find the case's
    /// data in the caches' way).
    public func quick() -> Double { rate(reps: 2, warmup: 1) }

    /// One pass over the buffer by `threads` workers; returns the sum so the
    /// reads cannot be optimized away.
    @discardableResult
    public func readOnce() -> Float {
        let floats = buffer.count, workers = threads
        let base = UncheckedPointer(buffer.baseAddress)
        let partial = UnsafeMutableBufferPointer<Float>.allocate(capacity: workers * 16)
        defer { partial.deallocate() }
        let sums = UncheckedPointer(partial.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            // Shares in whole 64-element chunks, so every share but the last is a multiple of the unroll.
            let chunks = floats / 64
            let first = chunks * w / workers * 64
            let last = w == workers - 1 ? floats : chunks * (w + 1) / workers * 64
            sums.value[w * 16] = Self.sum(base.value + first, count: last - first)
        }
        return partial.reduce(0, +)
    }

    /// The sum of `count` floats, four 16-float accumulators deep.
    private static func sum(_ p: UnsafeMutablePointer<Float>, count: Int) -> Float {
        typealias V = SIMD16<Float>
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i + 64 <= count {
            a0 += raw.load(fromByteOffset: i * 4, as: V.self)
            a1 += raw.load(fromByteOffset: i * 4 + 64, as: V.self)
            a2 += raw.load(fromByteOffset: i * 4 + 128, as: V.self)
            a3 += raw.load(fromByteOffset: i * 4 + 192, as: V.self)
            i += 64
        }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < count {
            s += p[i]
            i += 1
        }
        return s
    }

    /// A one-off careful measurement (allocates, measures, frees).
    public static func readRate(threads: Int) -> Double { BandwidthCalibration(threads: threads).full() }
}

/// A pointer carried into concurrent work on disjoint regions.
private struct UncheckedPointer: @unchecked Sendable {
    let value: UnsafeMutablePointer<Float>
    init(_ value: UnsafeMutablePointer<Float>) { self.value = value }
}

/// The read-bandwidth measurements of one sweep: careful ones at the start
/// and the end, and a quick one just before each case (the bandwidth moves
/// with the neighbours on a shared host, so a memory-bound row is placed
/// against the figure measured next to it).
public struct BandwidthLog: Sendable, Equatable {
    public var start: Double
    public var end: Double?
    /// The quick checks before each case, in order.
    public var checks: [Double] = []

    public init(start: Double) { self.start = start }

    /// The sweep-wide rate: the higher of the start and the end
    /// (interference only ever lowers a streaming read).
    public var reference: Double { max(start, end ?? start) }

    /// (highest − lowest) / highest over the start, the end and the checks.
    public var spread: Double {
        let values = [start] + checks + [end].compactMap { $0 }
        return (values.max()! - values.min()!) / values.max()!
    }

    /// Set when the measurements disagree by more than
    /// ``CalibrationLog/tolerance``, worded like sgemm's.
    public var warning: String? {
        guard spread > CalibrationLog.tolerance else { return nil }
        let checksText =
            checks.isEmpty ? "" : String(format: ", checks before cases %.1f-%.1f", checks.min()!, checks.max()!)
        return String(
            format:
                "the read bandwidth disagreed by %.0f%% during the sweep (tolerance %.0f%%): start %.1f, end %@%@ GB/s; "
                + "the bandwidth moved, memory-bound rows use the check just before each case (read_bandwidth_gbps_local)",
            spread * 100, CalibrationLog.tolerance * 100, start,
            end.map { String(format: "%.1f", $0) } ?? "not measured",
            checksText)
    }
}
