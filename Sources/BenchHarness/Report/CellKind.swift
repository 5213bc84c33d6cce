import Foundation

/// What one column of a sweep report may hold. Reading a report checks
/// every cell against its column's kind, so that a corrupted cell is an
/// error naming the file, row and column instead of a case that quietly
/// drops out of a comparison (and lets a regression through).
///
/// Empty cells are allowed except in ``key(_:)`` columns: a case that was
/// skipped or failed has no times, rates or memory.
public indirect enum CellKind: Sendable, Equatable {
    /// Anything, including empty.
    case text
    /// One of ``CaseStatus``'s raw values.
    case status
    /// A decimal integer, at least `min` when `min` is given.
    case integer(min: Int?)
    /// A finite decimal number ≥ `min`.
    case number(min: Double)
    /// A finite number > 0 (a rate that is divided by).
    case positive
    /// `0` or `1`.
    case flag
    /// An unsigned 64-bit integer.
    case seed
    /// Non-negative finite numbers joined by `;`.
    case numbers
    /// Integers ≥ 1 joined by `;`.
    case counts
    /// A cell that must not be empty, of the given kind.
    case key(CellKind)

    /// Why `cell` does not fit, or nil when it does.
    public func problem(with cell: String) -> String? {
        if case .key(let inner) = self {
            return cell.isEmpty ? "is empty; the column identifies the case" : inner.problem(with: cell)
        }
        if cell.isEmpty { return nil }
        switch self {
        case .text, .key: return nil
        case .status:
            return CaseStatus(rawValue: cell) != nil
                ? nil
                : "is not a status (\(CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .integer(let min):
            guard let v = Int(cell) else { return "is not an integer" }
            if let min, v < min { return "is below \(min)" }
            return nil
        case .number(let min):
            guard let v = Double(cell), v.isFinite else { return "is not a finite number" }
            return v < min ? "is below \(String(format: "%g", min))" : nil
        case .positive:
            guard let v = Double(cell), v.isFinite else { return "is not a finite number" }
            return v > 0 ? nil : "must be greater than 0"
        case .flag:
            return cell == "0" || cell == "1" ? nil : "must be 0 or 1"
        case .seed:
            return UInt64(cell) != nil ? nil : "is not an unsigned integer"
        case .numbers:
            let ok = cell.split(separator: ";", omittingEmptySubsequences: false)
                .allSatisfy { Double($0).map { $0.isFinite && $0 >= 0 } ?? false }
            return ok ? nil : "must be non-negative numbers joined by ';'"
        case .counts:
            let ok = cell.split(separator: ";", omittingEmptySubsequences: false).allSatisfy { (Int($0) ?? 0) >= 1 }
            return ok ? nil : "must be counts ≥ 1 joined by ';'"
        }
    }
}
