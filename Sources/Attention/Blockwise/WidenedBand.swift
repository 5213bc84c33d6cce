/// Half-precision key and value rows of one head, widened to float32 once
/// while a worker's query blocks slide along the keys (sliding windows).
///
/// Why: a block of `r` query rows of a window `left + right` wide visits
/// about `r + left + right` keys, and the next block of the same head
/// visits all but `r` of them again. Widening each block's band into a
/// stage converted every key and value row `(left + right)/r + 1` times
/// (about 11 at window:256 with 48 rows): on a Zen 3 that was 8% of an f16
/// run. Here only the rows past the band's end are widened, and the rows
/// already held are read again as float32.
///
/// The band holds the keys `first ..< end` of one head (named by its key
/// base pointer) at rows `0 ..< end − first`. A request for a range at or
/// after `first` appends what is missing; one that starts after `end`, or
/// names another head, starts the band again there; one that would run past
/// the capacity moves the rows from its start on to the front (so a plan
/// whose blocks each visit one range, each starting after the previous
/// block's, keeps every row the next block needs). Rows are never
/// overwritten while they are held, so the pointers handed out stay valid
/// until the band starts again or moves, and the caller is told first
/// (`beforeMoving`), to fold what it has queued. A range that starts before
/// `first` (a window's global keys, behind the band) is declined: the
/// caller widens it on its own.
///
/// - Complexity: widening O(new rows · d) per request; a move copies at
///   most the request's rows, once per `capacity − columns` keys of
///   advance.
///
/// One worker uses an instance at a time; not thread-safe.
final class WidenedBand: @unchecked Sendable {
    /// Rows the band holds at most.
    let capacity: Int
    let headDim: Int
    private let keyRows: AlignedBuffer
    private let valueRows: AlignedBuffer
    /// The head whose keys are held (its key base pointer), nil when empty.
    private var head: UnsafeRawPointer?
    /// Key indices held: `first ..< end` at rows `0 ..< end − first`.
    private var first = 0
    private var end = 0

    /// Rows held per requested range: twice the widest range, so a band of
    /// `columns` keys advancing `r` a block moves its rows once per
    /// `columns / r` blocks (docs/DECISIONS.md).
    static func capacity(columns: Int) -> Int { 2 * columns }

    /// Room for ``capacity(columns:)`` rows of keys and of values.
    init(columns: Int, headDim: Int) {
        capacity = Self.capacity(columns: columns)
        self.headDim = headDim
        // Rows are widened in before use; untouched pages are not resident.
        keyRows = AlignedBuffer(count: capacity * headDim, zeroed: false)
        valueRows = AlignedBuffer(count: capacity * headDim, zeroed: false)
    }

    static func workspaceBytes(columns: Int, headDim: Int) -> Int {
        2 * capacity(columns: columns) * headDim * MemoryLayout<Float>.stride
    }

    /// The float32 rows of `keys` of the head whose rows start at `key` and
    /// `value`, widened as needed, or nil when the range lies before the
    /// band (see the type's note). `beforeMoving` runs before rows handed
    /// out earlier are overwritten.
    func rows<E: StorageElement>(
        key: UnsafePointer<E>, value: UnsafePointer<E>, keys: Range<Int>, beforeMoving: () -> Void
    ) -> (key: UnsafePointer<Float>, value: UnsafePointer<Float>)? {
        precondition(keys.count <= capacity)
        let d = headDim
        if head == UnsafeRawPointer(key) {
            if keys.lowerBound < first { return nil }
            if keys.lowerBound > end {
                beforeMoving()
                first = keys.lowerBound
                end = first
            } else if keys.upperBound - first > capacity {
                // Keep the rows the range still needs, at the front.
                beforeMoving()
                let kept = end - keys.lowerBound, from = (keys.lowerBound - first) * d
                keyRows.baseAddress.update(from: keyRows.baseAddress + from, count: kept * d)
                valueRows.baseAddress.update(from: valueRows.baseAddress + from, count: kept * d)
                first = keys.lowerBound
            }
        } else {
            if head != nil { beforeMoving() }
            head = UnsafeRawPointer(key)
            first = keys.lowerBound
            end = first
        }
        if keys.upperBound > end {
            let at = (end - first) * d, count = (keys.upperBound - end) * d
            E.widen(key + end * d, into: keyRows.baseAddress + at, count: count)
            E.widen(value + end * d, into: valueRows.baseAddress + at, count: count)
            end = keys.upperBound
        }
        let at = (keys.lowerBound - first) * d
        return (UnsafePointer(keyRows.baseAddress + at), UnsafePointer(valueRows.baseAddress + at))
    }

    /// Forgets the rows held: the next request starts the band again.
    /// Called between runs, since a head's pointer may then name new data.
    func removeAll() {
        head = nil
        first = 0
        end = 0
    }
}
