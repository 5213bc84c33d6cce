import AttentionTestSupport
import XCTest

@testable import Attention

/// ``WidenedBand``: every range it hands out holds the widened rows, and
/// rows handed out stay valid until it says it will move them.
final class WidenedBandTests: XCTestCase {
    func testEveryRangeHandedOutHoldsItsWidenedRowsUntilTheBandMoves() {
        let d = 5, length = 400, columns = 37
        var random = TestRandom(seed: 3)
        // Two heads of half-precision keys and values with distinct values.
        let heads = (0 ..< 2).map { h in
            (0 ..< 2).map { t in
                Tensor((0 ..< length * d).map { Float($0 % 1000) + Float(h * 2 + t) / 4 }, precision: .f16)
            }
        }
        let band = WidenedBand(columns: columns, headDim: d)
        // Ranges handed out since the last move: (head, keys, rows).
        var held: [(Int, Range<Int>, (key: UnsafePointer<Float>, value: UnsafePointer<Float>))] = []
        func expectRows(_ h: Int, _ keys: Range<Int>, _ rows: (key: UnsafePointer<Float>, value: UnsafePointer<Float>))
        {
            for (t, pointer) in [rows.key, rows.value].enumerated() {
                let source = heads[h][t]
                for i in 0 ..< keys.count * d where pointer[i] != source[keys.lowerBound * d + i] {
                    return XCTFail("head \(h) keys \(keys) tensor \(t) element \(i)")
                }
            }
        }
        var start = [0, 0]
        for step in 0 ..< 2000 {
            let h = random.int(in: 0 ... 9) == 0 ? 1 - (held.last?.0 ?? 0) : (held.last?.0 ?? 0)
            // Mostly advancing, sometimes jumping ahead or back.
            switch random.int(in: 0 ... 9) {
            case 0: start[h] = random.int(in: 0 ... length - 1)
            case 1: start[h] = max(0, start[h] - random.int(in: 1 ... 50))
            default: start[h] = min(length - 1, start[h] + random.int(in: 0 ... 12))
            }
            let keys = start[h] ..< min(length, start[h] + random.int(in: 1 ... columns))
            var moved = false
            let rows = band.rows(
                key: heads[h][0].elements(Float16.self), value: heads[h][1].elements(Float16.self), keys: keys,
                beforeMoving: {
                    // What was handed out is still intact when the band warns.
                    for (hh, kk, rr) in held { expectRows(hh, kk, rr) }
                    moved = true
                })
            if moved { held.removeAll() }
            guard let rows else {
                // Declined only behind the band of the same head.
                XCTAssertFalse(moved, "step \(step)")
                XCTAssertEqual(held.last?.0, h, "step \(step): declined \(keys) of another head")
                continue
            }
            held.append((h, keys, rows))
            for (hh, kk, rr) in held { expectRows(hh, kk, rr) }
        }
        XCTAssertGreaterThan(band.capacity, columns)
    }
}
