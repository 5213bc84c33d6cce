import Attention
import Foundation

/// A sweep report read back from its CSV: rows as column → cell maps.
public struct ReportFile: Sendable {
    public let path: String
    public let header: [String]
    public let rows: [[String: String]]
    /// The line of the file each row was read from (1 is the header).
    public let lines: [Int]

    public enum ReadError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case malformed(path: String, reason: String)
        case schemaMismatch(path: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): return "\(path): cannot be read (\(reason))"
            case .malformed(let path, let reason): return "\(path): not a sweep CSV (\(reason))"
            case .schemaMismatch(let path, let reason): return "\(path): \(reason)"
            }
        }
    }

    /// Reads `path`, checking that it was written with a schema version this
    /// build reads, that every cell fits its column (``CellKind``) and that
    /// every row's status agrees with its own columns (``statusProblem(_:)``).
    ///
    /// The file is read a record at a time and the first bad row stops the
    /// reading: memory is the rows kept, whatever else the file holds.
    ///
    /// - Throws: ``ReadError``, naming the row and column of the first bad cell.
    public init(path: String) throws {
        var reader: CSVFileReader
        do { reader = try CSVFileReader(path: path) } catch {
            throw ReadError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        func nextRecord() throws -> [String]? {
            do { return try reader.next() } catch let e as CSVTable.CSVError {
                throw ReadError.malformed(path: path, reason: e.description)
            } catch {
                throw ReadError.unreadable(path: path, reason: (error as NSError).localizedDescription)
            }
        }
        guard let header = try nextRecord(), !(header.count == 1 && header[0].isEmpty) else {
            throw ReadError.malformed(path: path, reason: "empty file")
        }
        if Set(header).count != header.count {
            throw ReadError.malformed(path: path, reason: "the header repeats a column name")
        }
        guard header.first == "schema_version" else {
            throw ReadError.malformed(
                path: path, reason: "first column is '\(header.first?.prefix(40) ?? "")', expected 'schema_version'")
        }
        var rows: [[String: String]] = []
        var lines: [Int] = []
        var versions = Set<Int>()
        while let record = try nextRecord() {
            let n = reader.recordLine
            if record.count == 1 && record[0].isEmpty { continue }
            guard record.count == header.count else {
                throw ReadError.malformed(
                    path: path, reason: "row \(n) has \(record.count) fields, the header has \(header.count)")
            }
            guard let version = Int(record[0]), ReportSchema.readableVersions.contains(version) else {
                throw ReadError.schemaMismatch(
                    path: path,
                    reason:
                        "schema_version \(record[0].prefix(40)) in row \(n); this attnbench reads versions \(ReportSchema.readableVersions.lowerBound)-\(ReportSchema.version)"
                )
            }
            versions.insert(version)
            let row = Dictionary(uniqueKeysWithValues: zip(header, record))
            for (column, cell) in zip(header, record) {
                guard let kind = ReportSchema.kinds[column] else { continue }
                if let problem = kind.problem(with: cell) {
                    throw ReadError.malformed(
                        path: path, reason: "row \(n), column \(column): '\(cell.prefix(40))' \(problem)")
                }
            }
            if let problem = Self.statusProblem(row) {
                throw ReadError.malformed(path: path, reason: "row \(n): \(problem)")
            }
            rows.append(row)
            lines.append(n)
        }
        let version = versions.max() ?? ReportSchema.version
        let missing = ReportSchema.header(version: version).filter { !header.contains($0) }
        if !missing.isEmpty {
            throw ReadError.schemaMismatch(
                path: path, reason: "missing columns \(missing.joined(separator: ", ")) of schema version \(version)")
        }
        self.path = path
        self.header = header
        self.rows = rows
        self.lines = lines
    }

    /// Why a row's status disagrees with its own columns, or nil: a row is
    /// evidence for a verdict, so one that contradicts itself (edited, or
    /// written by something else) must not pass as `ok`.
    /// - `ok` and `wrong` rows have times, and `times_ms` agrees with
    ///   `round_sizes`;
    /// - an `ok` row's times are above 0 and its verification errors, when
    ///   given, are within the tolerances;
    /// - a `wrong` row's errors are not both within them.
    public static func statusProblem(_ row: [String: String]) -> String? {
        let times = (row["times_ms"] ?? "").split(separator: ";").compactMap { Double($0) }
        if let sizes = row["round_sizes"], !sizes.isEmpty {
            let total = sizes.split(separator: ";").reduce(0) { $0 + (Int($1) ?? 0) }
            if total != times.count { return "round_sizes add up to \(total), but times_ms has \(times.count) times" }
        }
        guard let status = row["status"].flatMap(CaseStatus.init(rawValue:)), status == .ok || status == .wrong
        else { return nil }
        for column in ["times_ms", "median_ms"] where row[column]?.isEmpty == true {
            return "status \(status.rawValue) with an empty \(column)"
        }
        let absolute = row["max_abs_error"].flatMap(Double.init),
            relative = row["rel_frobenius_error"].flatMap(Double.init)
        // The row's own precision's rule; a row before the precision axis is f32.
        let precision = row["dtype"].flatMap(Precision.init(rawValue:)) ?? .f32
        let limits = (
            absolute: ReferenceError.absoluteTolerance(
                for: precision, maxReference: row["max_abs_reference"].flatMap(Double.init) ?? 0),
            relative: ReferenceError.relativeTolerance(for: precision)
        )
        let withinTolerance =
            absolute.map { $0 <= limits.absolute } != false && relative.map { $0 <= limits.relative } != false
        switch status {
        case .ok:
            if let bad = times.first(where: { $0 <= 0 }) { return "status ok with a time of \(bad) ms" }
            if Double(row["median_ms"] ?? "").map({ $0 > 0 }) == false { return "status ok with a median of 0 ms" }
            if !withinTolerance {
                return String(
                    format:
                        "status ok, but its errors (max abs %@, rel Frobenius %@) exceed the tolerances (%.2g, %.2g)",
                    row["max_abs_error"] ?? "", row["rel_frobenius_error"] ?? "", limits.absolute, limits.relative)
            }
        default:
            if absolute != nil && relative != nil && withinTolerance {
                return "status wrong, but its errors are within the tolerances"
            }
        }
        return nil
    }

    /// A report made from records in memory, as if written to `path` and read back.
    public init(records: [SweepRecord], path: String) {
        self.path = path
        header = ReportSchema.header
        rows = records.map { Dictionary(uniqueKeysWithValues: zip(ReportSchema.header, ReportSchema.cells($0))) }
        lines = Array(2 ..< 2 + records.count)
    }
}

/// Appends rows to a report, flushing each one: an interrupted sweep keeps
/// every finished row.
public final class ReportWriter {
    public let path: String
    private let handle: FileHandle

    /// Opens `path` for appending, writing the header first when the file is
    /// new or empty. An existing file must have this schema's header.
    /// A report whose last row lacks its line end (written by something
    /// else, or cut short) gets one first, so the next row starts its own
    /// line; a cut-short row itself fails ``ReportFile``'s reading before this.
    ///
    /// - Throws: ``OutputFile/Refused`` when `path` is not a regular
    ///   writable file; ``ReportFile/ReadError`` when it is not a report of
    ///   this schema.
    public init(path: String) throws {
        self.path = path
        try OutputFile.checkReplaceable(path, createDirectory: true)
        let fm = FileManager.default
        let exists = fm.fileExists(atPath: path) && ((try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) > 0
        if exists {
            let existing = try ReportFile(path: path)
            guard existing.header == ReportSchema.header else {
                throw ReportFile.ReadError.schemaMismatch(
                    path: path,
                    reason:
                        "its header differs from this attnbench's schema version \(ReportSchema.version); write to another --out"
                )
            }
        } else {
            try OutputFile.replace(path, with: Data(CSVTable.line(ReportSchema.header).utf8), createDirectory: true)
        }
        guard let h = FileHandle(forUpdatingAtPath: path) else {
            throw ReportFile.ReadError.unreadable(path: path, reason: "cannot open for writing")
        }
        handle = h
        let end = handle.seekToEndOfFile()
        if end > 0 {
            handle.seek(toFileOffset: end - 1)
            if handle.readData(ofLength: 1) != Data("\n".utf8) {
                try handle.write(contentsOf: Data("\n".utf8))
                repairedLineEnd = true
            }
        }
    }

    /// Whether opening the report added a missing final line end.
    public private(set) var repairedLineEnd = false

    deinit { try? handle.close() }

    /// Appends and flushes one row; a termination waits for it, so the row
    /// is in the file whole or not at all.
    public func append(_ record: SweepRecord) throws {
        let line = Data(CSVTable.line(ReportSchema.cells(record)).utf8)
        try ProcessSupervisor.shared.uninterrupted {
            try handle.write(contentsOf: line)
            try handle.synchronize()
        }
    }

    /// Replaces the report at `path` with `records`: written to a temporary
    /// file beside it, flushed, then renamed over it, so that the path holds
    /// either the old report or the new one, never a part.
    public static func rewrite(path: String, records: [SweepRecord]) throws {
        try rewrite(path: path, rows: records.map(ReportSchema.cells))
    }

    /// The same with rows given as cells in ``ReportSchema/header``'s order.
    public static func rewrite(path: String, rows: [[String]]) throws {
        let text = ([ReportSchema.header] + rows).map(CSVTable.line).joined()
        try OutputFile.replace(path, with: Data(text.utf8))
    }
}
