/// A small count fixed at compile time: a kernel's block written once for
/// up to eight rows and made generic over its row count is specialized per
/// count, so each copy keeps only its own accumulators in registers and
/// has no run-time tests in its loop.
///
/// Why types and not an `Int` argument: an `@inline(__always)` block with a
/// constant argument was still left out of line in a large caller (where
/// the constant is lost); a generic is specialized whatever the inliner
/// decides.
protocol StaticCount { static var value: Int { get } }

enum Count1: StaticCount { static var value: Int { 1 } }
enum Count2: StaticCount { static var value: Int { 2 } }
enum Count3: StaticCount { static var value: Int { 3 } }
enum Count4: StaticCount { static var value: Int { 4 } }
enum Count5: StaticCount { static var value: Int { 5 } }
enum Count6: StaticCount { static var value: Int { 6 } }
enum Count7: StaticCount { static var value: Int { 7 } }
enum Count8: StaticCount { static var value: Int { 8 } }
