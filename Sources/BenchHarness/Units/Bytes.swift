import Foundation

/// Byte counts for people: `1.5 GiB`, `512 MiB`; and sizes from flags: `8G`, `512M`.
public enum Bytes {
    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(bytes), u = 0
        while abs(v) >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(bytes) B" : String(format: v >= 100 ? "%.0f %@" : "%.1f %@", v, units[u])
    }

    /// Parses `123`, `64K`, `512M`, `8G`, `1T` (powers of 1024; an optional
    /// trailing `B` or `iB` is accepted). Returns nil for anything else.
    public static func parse(_ text: String) -> Int? {
        var s = text.uppercased()
        if s.hasSuffix("IB") { s.removeLast(2) } else if s.hasSuffix("B") { s.removeLast() }
        let multipliers: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        var factor = 1.0
        if let last = s.last, let m = multipliers[last] {
            factor = m
            s.removeLast()
        }
        guard let v = Double(s), v >= 0, v.isFinite, v * factor < 0x1p62 else { return nil }
        return Int(v * factor)
    }
}
