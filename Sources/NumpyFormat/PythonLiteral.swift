import Foundation

/// The subset of Python literals that appears in `.npy` headers.
enum PythonLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([String])  // Only keys are kept: nested dicts are never valid here.

    /// Python-like text, for error messages.
    var text: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        case .tuple(let items):
            return items.count == 1 ? "(\(items[0].text),)" : "(" + items.map(\.text).joined(separator: ", ") + ")"
        case .list(let items): return "[" + items.map(\.text).joined(separator: ", ") + "]"
        case .dict(let keys): return "{" + keys.map { "'\($0)': …" }.joined(separator: ", ") + "}"
        }
    }
}

/// A recursive-descent parser for a Python dict literal with string keys and
/// values that are strings, ints (an optional sign, decimal digits, an
/// optional Python 2 `L` suffix), `True`, `False`, `None`, tuples and lists.
/// `(x)` without a comma is `x`, as in Python; `(x,)` is a one-element tuple.
struct PythonLiteralParser {
    struct ParseError: Error { let message: String }

    private let scalars: [Unicode.Scalar]
    private var position = 0
    /// Open brackets around the current position; a header nests two deep at
    /// most, so a limit keeps a hostile file from exhausting the stack.
    private var depth = 0
    private static let maximumDepth = 32

    /// Parses `scalars` as one dict followed only by whitespace; returns its
    /// entries in order (duplicates kept for the caller to reject).
    static func parseDict(_ scalars: [Unicode.Scalar]) throws -> [(key: String, value: PythonLiteral)] {
        var parser = PythonLiteralParser(scalars: scalars)
        parser.skipWhitespace()
        let entries = try parser.dictEntries()
        parser.skipWhitespace()
        if parser.position < scalars.count {
            throw parser.error("unexpected \(parser.describeCurrent()) after the dict")
        }
        return entries
    }

    private init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

    private var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private func error(_ message: String) -> ParseError {
        ParseError(message: "\(message) at offset \(position)")
    }

    private func describeCurrent() -> String {
        guard let c = current else { return "end of header" }
        if c == "'" { return "a quote (')" }
        if c.value >= 0x21 && c.value < 0x7F { return "'\(Character(c))'" }
        return String(format: "character U+%04X", c.value)
    }

    private mutating func skipWhitespace() {
        while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { position += 1 }
    }

    private mutating func expect(_ scalar: Unicode.Scalar) throws {
        skipWhitespace()
        guard current == scalar else { throw error("expected '\(Character(scalar))' but found \(describeCurrent())") }
        position += 1
    }

    /// Parses `{` key `:` value (`,` key `:` value)* [`,`] `}`.
    private mutating func dictEntries() throws -> [(key: String, value: PythonLiteral)] {
        try expect("{")
        var entries: [(key: String, value: PythonLiteral)] = []
        while true {
            skipWhitespace()
            if current == "}" {
                position += 1
                return entries
            }
            guard case .string(let key) = try value() else {
                throw error("dict keys must be strings")
            }
            try expect(":")
            entries.append((key, try value()))
            skipWhitespace()
            if current == "," {
                position += 1
                continue
            }
            if current == "}" {
                position += 1
                return entries
            }
            throw error("expected ',' or '}' but found \(describeCurrent())")
        }
    }

    /// Parses items up to `close`, separated by commas; reports whether a
    /// comma was seen (which makes `(x,)` a tuple rather than `x`).
    private mutating func sequence(until close: Unicode.Scalar) throws -> (items: [PythonLiteral], sawComma: Bool) {
        var items: [PythonLiteral] = []
        var sawComma = false
        while true {
            skipWhitespace()
            if current == close {
                position += 1
                return (items, sawComma)
            }
            items.append(try value())
            skipWhitespace()
            if current == "," {
                position += 1
                sawComma = true
                continue
            }
            if current == close {
                position += 1
                return (items, sawComma)
            }
            throw error("expected ',' or '\(Character(close))' but found \(describeCurrent())")
        }
    }

    private mutating func value() throws -> PythonLiteral {
        skipWhitespace()
        guard let c = current else { throw error("unexpected end of header") }
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maximumDepth { throw error("brackets nested more than \(Self.maximumDepth) deep") }
        switch c {
        case "'", "\"": return .string(try string())
        case "(":
            position += 1
            let (items, sawComma) = try sequence(until: ")")
            return items.count == 1 && !sawComma ? items[0] : .tuple(items)
        case "[":
            position += 1
            return .list(try sequence(until: "]").items)
        case "{":
            return .dict(try dictEntries().map(\.key))
        case "-", "+", "0" ... "9":
            return .int(try integer())
        default:
            let word = identifier()
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case "": throw error("unexpected \(describeCurrent())")
            default: throw error("unknown name '\(word)'")
            }
        }
    }

    private mutating func identifier() -> String {
        var word = ""
        while let c = current, c.properties.isAlphabetic || c == "_" || ("0" ... "9").contains(c) {
            word.unicodeScalars.append(c)
            position += 1
        }
        return word
    }

    /// A quoted string; a backslash takes the next character literally.
    private mutating func string() throws -> String {
        guard let quote = current else { throw error("unexpected end of header") }
        position += 1
        var text = ""
        while let c = current {
            position += 1
            if c == quote { return text }
            if c == "\\" {
                guard let escaped = current else { break }
                position += 1
                text.unicodeScalars.append(escaped)
            } else {
                text.unicodeScalars.append(c)
            }
        }
        throw error("unterminated string")
    }

    private mutating func integer() throws -> Int {
        var negative = false
        if current == "-" || current == "+" {
            negative = current == "-"
            position += 1
        }
        var digits = ""
        while let c = current, ("0" ... "9").contains(c) {
            digits.unicodeScalars.append(c)
            position += 1
        }
        guard !digits.isEmpty else { throw error("expected digits but found \(describeCurrent())") }
        if current == "L" || current == "l" { position += 1 }  // Python 2 long suffix.
        guard let magnitude = Int(digits) else { throw error("integer \(digits) is too large") }
        return negative ? -magnitude : magnitude
    }
}
