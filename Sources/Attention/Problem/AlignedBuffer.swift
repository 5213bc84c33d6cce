#if canImport(Glibc)
    import Glibc
#endif

/// A fixed-size, 64-byte aligned, zero-initialized float32 buffer that owns
/// its memory: the storage of the strategies' workspaces (tensors are
/// ``Tensor``s, which allocate the same way).
///
/// 64-byte alignment keeps every `SIMD16<Float>` load of a row that starts at
/// a multiple of 16 elements on one cache line.
public final class AlignedBuffer: @unchecked Sendable {
    public let count: Int
    public let baseAddress: UnsafeMutablePointer<Float>
    private let memory: AlignedMemory

    /// Allocates `count` floats. With `zeroed` (the default) they are all zero
    /// and every page is touched, so the memory is resident (and counted in
    /// RSS) from here on; scratch space that is written before it is read
    /// passes `false` and skips that pass.
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0)
        self.count = count
        memory = AlignedMemory(bytes: max(count, 1) * MemoryLayout<Float>.stride, zeroed: zeroed)
        baseAddress = memory.base.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { baseAddress.update(from: $0.baseAddress!, count: values.count) }
    }

    public var bytes: Int { count * MemoryLayout<Float>.stride }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: baseAddress, count: count)
    }

    public subscript(i: Int) -> Float {
        get {
            precondition(i >= 0 && i < count)
            return baseAddress[i]
        }
        set {
            precondition(i >= 0 && i < count)
            baseAddress[i] = newValue
        }
    }

    public func fill(_ value: Float) { baseAddress.update(repeating: value, count: count) }

    public func toArray() -> [Float] { Array(buffer) }
}

/// Raw, 64-byte aligned memory, zeroed on request, released on deinit: the
/// allocation policy of ``AlignedBuffer`` and ``Tensor``.
///
/// Blocks of 64 KiB or more are mapped straight from the kernel and unmapped
/// on release, not taken from malloc's arenas (which keep freed pages
/// resident): a strategy's workspace then shows in the peak resident set
/// exactly while it exists, which is what the memory measurements need.
///
/// Blocks of 2 MiB or more ask for transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`, which kernels in `madvise` mode need). Why:
/// with 4 KiB pages, dense attention's score matrix ran at one of two
/// speeds, fixed per process, which made its timings bimodal; with huge
/// pages every process ran at the faster one (docs/DECISIONS.md).
/// The resident set then grows in 2 MiB steps for these blocks.
final class AlignedMemory: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    private let mappedBytes: Int  // 0 when the memory came from malloc

    static let mapThreshold = 64 << 10

    /// At least one byte; with `zeroed` every page is written, so resident.
    init(bytes requested: Int, zeroed: Bool) {
        let bytes = max(requested, 1)
        var raw: UnsafeMutableRawPointer?
        var mapped = 0
        if bytes >= Self.mapThreshold {
            let pageRounded = (bytes + 4095) & ~4095
            if let p = mmap(nil, pageRounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                p != MAP_FAILED
            {
                raw = p
                mapped = pageRounded
                if pageRounded >= 2 << 20 { _ = madvise(p, pageRounded, MADV_HUGEPAGE) }
            }
        }
        if raw == nil { raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64) }
        mappedBytes = mapped
        base = raw!
        // Mapped pages read as zero but are not resident until written.
        if zeroed { base.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
    }

    deinit {
        if mappedBytes > 0 { munmap(base, mappedBytes) } else { base.deallocate() }
    }
}
