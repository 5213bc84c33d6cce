import Synchronization

/// Keeps a strategy's scratch objects (score matrices, tile workspaces)
/// between forward passes, so repeated calls reuse memory instead of
/// mapping fresh pages each time.
///
/// Why: on these virtual machines fresh pages cost a fault in the guest and
/// often one in the host, so a score matrix mapped anew on every call made
/// dense attention's times swing from one run to the next
/// (docs/DECISIONS.md). Reused, the pages stay resident, the timing measures the
/// arithmetic, and the memory still counts: it is resident from the first
/// call on, and the peak resident set includes it.
///
/// Thread-safe; objects are handed out exclusively until given back.
public final class WorkspacePool: Sendable {
    private let shelves = Mutex<[String: [AnyObject & Sendable]]>([:])
    /// Objects kept per key at most; the extra ones are released.
    private let limit = 16

    public init() {}

    /// An object for `key`: a kept one, or `make()`'s.
    func take<T: AnyObject & Sendable>(_ key: String, make: () -> T) -> T {
        let kept = shelves.withLock { $0[key]?.popLast() }
        return (kept as? T) ?? make()
    }

    /// Returns one object taken for `key`, with no array to build: a
    /// one-element array literal is a heap allocation whenever the optimizer
    /// cannot keep it on the stack.
    func give(_ key: String, _ object: AnyObject & Sendable) {
        shelves.withLock { shelves in
            shelves[key, default: []].append(object)
            trim(&shelves[key]!)
        }
    }

    /// Returns objects taken for `key`.
    func give(_ key: String, _ objects: [AnyObject & Sendable]) {
        shelves.withLock { shelves in
            shelves[key, default: []].append(contentsOf: objects)
            trim(&shelves[key]!)
        }
    }

    /// Drops the oldest objects of a shelf beyond `limit`.
    private func trim(_ shelf: inout [AnyObject & Sendable]) {
        if shelf.count > limit { shelf.removeFirst(shelf.count - limit) }
    }
}
