import Foundation

/// Reading and writing RFC 4180 CSV: fields with a comma, a quote or a line
/// break are quoted, quotes inside doubled.
public enum CSVTable {
    public static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func line(_ fields: [String]) -> String { fields.map(escape).joined(separator: ",") + "\n" }

    /// Parses CSV text into records of fields. A final line break is optional.
    public static func parse(_ text: String) throws -> [[String]] {
        var parser = CSVRecordParser(maxRecordBytes: .max)
        var records: [[String]] = []
        for byte in text.utf8 { if let r = try parser.consume(byte) { records.append(r) } }
        if let r = try parser.finish() { records.append(r) }
        return records
    }

    public enum CSVError: Error, CustomStringConvertible, Equatable {
        case unterminatedQuote(line: Int)
        /// A record longer than the reader allows: not a report's row.
        case recordTooLong(line: Int, limit: Int)

        public var description: String {
            switch self {
            case .unterminatedQuote(let l): return "unterminated quoted field at line \(l)"
            case .recordTooLong(let l, let limit):
                return "the record at line \(l) is longer than \(limit >> 20) MiB; a report's rows are far shorter"
            }
        }
    }
}

/// The CSV state machine, one byte at a time: it yields each record as its
/// line ends. Bytes, not characters: the quote, comma, CR and LF are ASCII
/// and never occur inside a multi-byte UTF-8 sequence, so fields split on
/// bytes decode as the text would.
///
/// - Complexity: O(1) per byte; memory O(the longest record).
struct CSVRecordParser {
    let maxRecordBytes: Int
    private var record: [String] = []
    private var field: [UInt8] = []
    private var recordBytes = 0
    private var inQuotes = false
    private var quotePending = false  // a quote inside quotes: the end, or the first of a doubled pair
    /// The line the current record started on (1-based).
    private(set) var recordLine = 1
    private var line = 1

    init(maxRecordBytes: Int) { self.maxRecordBytes = maxRecordBytes }

    /// Feeds one byte; returns a record when this byte ended one.
    mutating func consume(_ byte: UInt8) throws -> [String]? {
        recordBytes += 1
        if recordBytes > maxRecordBytes {
            throw CSVTable.CSVError.recordTooLong(line: recordLine, limit: maxRecordBytes)
        }
        if inQuotes {
            if quotePending {
                quotePending = false
                if byte == UInt8(ascii: "\"") {
                    field.append(byte)
                    return nil
                }
                inQuotes = false  // the quote closed the field; this byte is outside it
            } else if byte == UInt8(ascii: "\"") {
                quotePending = true
                return nil
            } else {
                if byte == UInt8(ascii: "\n") { line += 1 }
                field.append(byte)
                return nil
            }
        }
        switch byte {
        case UInt8(ascii: "\"") where field.isEmpty: inQuotes = true
        case UInt8(ascii: ","): endField()
        case UInt8(ascii: "\r"): break
        case UInt8(ascii: "\n"):
            endField()
            line += 1
            return endRecord()
        default: field.append(byte)
        }
        return nil
    }

    /// Ends the input: the last record when it lacks its line break.
    mutating func finish() throws -> [String]? {
        if inQuotes && !quotePending { throw CSVTable.CSVError.unterminatedQuote(line: line) }
        inQuotes = false
        quotePending = false
        guard !field.isEmpty || !record.isEmpty else { return nil }
        endField()
        return endRecord()
    }

    private mutating func endField() {
        record.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
    }

    private mutating func endRecord() -> [String] {
        defer {
            record = []
            recordBytes = 0
            recordLine = line
        }
        return record
    }
}

/// Reads a CSV file one record at a time, so that memory stays bounded by
/// the longest record, whatever the file's size, and a reader can stop at
/// the first bad row without reading the rest.
public struct CSVFileReader {
    private let handle: FileHandle
    private var parser: CSVRecordParser
    private var buffer = Data()
    private var position = 0
    private var ended = false

    /// The line the last record returned started on (1-based).
    public private(set) var recordLine = 0

    /// The longest record read: 16 MiB (a report's row is a few KiB; a
    /// `times_ms` cell of a million repetitions is about 10 MiB).
    public static let defaultMaxRecordBytes = 16 << 20

    public init(path: String, maxRecordBytes: Int = defaultMaxRecordBytes) throws {
        handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        parser = CSVRecordParser(maxRecordBytes: maxRecordBytes)
    }

    /// The next record, or nil at the end of the file.
    ///
    /// - Throws: ``CSVTable/CSVError`` for an unterminated quote or a record
    ///   over the limit; the file's read errors.
    public mutating func next() throws -> [String]? {
        while true {
            while position < buffer.count {
                let byte = buffer[buffer.startIndex + position]
                position += 1
                let start = parser.recordLine
                if let record = try parser.consume(byte) {
                    recordLine = start
                    return record
                }
            }
            if ended { return nil }
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            (buffer, position) = (chunk, 0)
            if chunk.isEmpty {
                ended = true
                try? handle.close()
                let start = parser.recordLine
                if let record = try parser.finish() {
                    recordLine = start
                    return record
                }
                return nil
            }
        }
    }
}
