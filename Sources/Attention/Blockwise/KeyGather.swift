/// Packs scattered key ranges (and their values) into one contiguous block,
/// so that one OpenBLAS tile product covers several small ranges. (With the
/// SIMD products the tile queues ranges itself and reads values in place:
/// ``OnlineSoftmaxTile/queueTransposed(key:value:keys:partial:)``.)
///
/// Why: a BigBird row keeps about seven blocks of 64 keys in four or five
/// separate runs. Folding each run on its own means small matrix products
/// (OpenBLAS is far from its peak on 64×64×64) and one accumulator rescale
/// per run. Copying the runs together costs `2·keys·d` floats moved per
/// query block against `4·rows·keys·d` FLOPs, about 2% at 64 rows; folding
/// them at once is exact, since the online softmax does not depend on the
/// order or grouping of the keys.
///
/// It is also the stage where half-precision rows are widened to float32 as
/// they are loaded, a tile's worth at a time, for products that read float32
/// (``append(key:value:rows:)`` converts): both for OpenBLAS, the keys only
/// for the SIMD kernels' transposed fold (``appendKeys(_:rows:)``), whose
/// `P · V` widens the values as it loads them.
///
/// One worker uses an instance at a time; not thread-safe.
final class KeyGather: @unchecked Sendable {
    let capacity: Int
    let headDim: Int
    private let keyRows: AlignedBuffer
    private let valueRows: AlignedBuffer?
    /// Rows gathered so far.
    private(set) var count = 0

    /// Room for `capacity` rows of `headDim` keys, and as many values unless
    /// `keysOnly`.
    init(capacity: Int, headDim: Int, keysOnly: Bool = false) {
        self.capacity = capacity
        self.headDim = headDim
        keyRows = AlignedBuffer(count: capacity * headDim, zeroed: false)  // rows are copied in before use
        valueRows = keysOnly ? nil : AlignedBuffer(count: capacity * headDim, zeroed: false)
    }

    static func workspaceBytes(capacity: Int, headDim: Int, keysOnly: Bool = false) -> Int {
        (keysOnly ? 1 : 2) * capacity * headDim * MemoryLayout<Float>.stride
    }

    var keys: UnsafePointer<Float> { UnsafePointer(keyRows.baseAddress) }
    var values: UnsafePointer<Float> { UnsafePointer(valueRows!.baseAddress) }

    /// Whether `rows` more rows fit.
    func fits(_ rows: Int) -> Bool { count + rows <= capacity }

    /// Appends `rows` rows of keys and values, widened to float32.
    func append<E: StorageElement>(key: UnsafePointer<E>, value: UnsafePointer<E>, rows: Int) {
        precondition(fits(rows))
        let n = rows * headDim
        E.widen(key, into: keyRows.baseAddress + count * headDim, count: n)
        E.widen(value, into: valueRows!.baseAddress + count * headDim, count: n)
        count += rows
    }

    /// Appends `rows` rows of keys, widened to float32.
    func appendKeys<E: StorageElement>(_ key: UnsafePointer<E>, rows: Int) {
        precondition(fits(rows))
        E.widen(key, into: keyRows.baseAddress + count * headDim, count: rows * headDim)
        count += rows
    }

    /// Drops the rows from `rows` on.
    func truncate(to rows: Int) {
        precondition(rows >= 0 && rows <= count)
        count = rows
    }

    func removeAll() { count = 0 }
}
