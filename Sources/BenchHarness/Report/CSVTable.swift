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
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var chars = Array(text.unicodeScalars)[...]
        var line = 1
        while let c = chars.popFirst() {
            if inQuotes {
                if c == "\"" {
                    if chars.first == "\"" {
                        field.unicodeScalars.append("\"")
                        chars.removeFirst()
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty: inQuotes = true
            case ",":
                record.append(field)
                field = ""
            case "\r": continue
            case "\n":
                record.append(field)
                field = ""
                records.append(record)
                record = []
                line += 1
            default: field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw CSVError.unterminatedQuote(line: line) }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }

    public enum CSVError: Error, CustomStringConvertible {
        case unterminatedQuote(line: Int)
        public var description: String {
            if case .unterminatedQuote(let l) = self { return "unterminated quoted field at line \(l)" }
            return ""
        }
    }
}
