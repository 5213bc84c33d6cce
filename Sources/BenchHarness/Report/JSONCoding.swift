import Foundation

/// The JSON coders of everything attnbench prints or reads back (`run
/// --format json`, a case's child process): sorted keys, and non-finite
/// numbers as the strings `"nan"`, `"inf"` and `"-inf"`.
///
/// Why: plain JSON has no NaN, and Foundation's default encoder throws on
/// one, which lost the whole report of a case whose output was NaN.
public enum JSONCoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
