/// A CSV file that cannot be replayed, with where: file, 1-based line, the column and what was
/// found there against what was expected.
public struct CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line (0 when the whole file is at fault, e.g. unreadable).
    public var line: Int
    /// The column's header name (or `#N`, 1-based, past the header or without a name).
    public var column: String?
    public var problem: Problem

    public enum Problem: Sendable, Hashable {
        case unreadable(reason: String)
        /// No header line.
        case empty
        case noTimeColumn(name: String, header: [String])
        case duplicateColumn(firstPosition: Int)
        case emptyColumnName(position: Int)
        case unterminatedQuote
        case textAfterClosingQuote(found: String)
        case fieldCount(found: Int, expected: Int)
        case notANumber(found: String)
        case notFinite(found: String)
        case notATime(found: String, expected: TimeFormat?)
        case timeNotIncreasing(found: String, previous: String, previousLine: Int)
        /// The time format of this file's first row differs from an earlier file's.
        case timeFormatDiffers(found: TimeFormat, earlier: TimeFormat, earlierFile: String)
        case noRows
        /// A record (from its first line) longer than the reader takes.
        case recordTooLong(limit: Int)
    }

    public init(file: String, line: Int, column: String? = nil, problem: Problem) {
        self.file = file
        self.line = line
        self.column = column
        self.problem = problem
    }

    /// `data.csv:17 column PT-101A: "1,2" is not a number; expected a decimal such as 6.02 (empty or NaN: no new value)`
    public var description: String {
        var text = "\(file):\(line)"
        if let column { text += " column \(column)" }
        return text + ": " + problem.sentence
    }
}

extension CSVError.Problem {
    var sentence: String {
        switch self {
        case .unreadable(let reason): return "cannot read the file: \(reason)"
        case .empty: return "empty file; expected a header line naming the columns"
        case .noTimeColumn(let name, let header):
            return "no time column \(quoted(name)) in the header (\(header.map(quoted).joined(separator: ", "))); name it with --time-column"
        case .duplicateColumn(let first): return "the column name appears twice (first as column \(first)); expected unique names"
        case .emptyColumnName(let position): return "column \(position) has no name; expected a sensor id or a name for --map"
        case .unterminatedQuote: return "a quoted field is never closed; expected a closing \""
        case .textAfterClosingQuote(let found): return "\(quoted(found)) after a closing quote; expected a comma or the end of the line"
        case .fieldCount(let found, let expected): return "\(found) fields; expected \(expected) as in the header"
        case .notANumber(let found): return "\(quoted(found)) is not a number; expected a decimal such as 6.02 (empty or NaN: no new value)"
        case .notFinite(let found): return "\(quoted(found)) is not a finite number; expected a decimal such as 6.02"
        case .notATime(let found, let expected):
            switch expected {
            case .seconds?: return "\(quoted(found)) is not a time in seconds like the first row's; expected a decimal such as 12.25"
            case .iso8601?:
                return "\(quoted(found)) is not an ISO 8601 time like the first row's; expected e.g. 2026-03-01T12:00:00Z or 2026-03-01 12:00:00.250+01:00"
            case nil: return "\(quoted(found)) is not a time; expected seconds (12.25) or ISO 8601 (2026-03-01T12:00:00Z)"
            }
        case .timeNotIncreasing(let found, let previous, let previousLine):
            return "time \(found) is not after the previous row's \(previous) (line \(previousLine)); expected increasing times"
        case .timeFormatDiffers(let found, let earlier, let earlierFile):
            return "times are \(found) but \(earlierFile)'s are \(earlier); expected one time format in every file"
        case .noRows: return "no data rows after the header"
        case .recordTooLong(let limit):
            return "the record goes on for more than \(limit / (1 << 20)) MiB (a quote that is never closed?); expected records shorter than that"
        }
    }
}

/// How a recording gives its times.
public enum TimeFormat: String, Sendable, Hashable, CustomStringConvertible {
    /// Decimal seconds (any origin).
    case seconds
    /// ISO 8601 date and time, with a zone (`Z`, `+01:00`) or without one (read as UTC).
    case iso8601

    public var description: String { self == .seconds ? "seconds" : "ISO 8601" }
}

/// A field as an error shows it: quoted, invalid UTF-8 replaced, cut at 40 characters.
func quoted(_ text: String) -> String {
    let cut = text.count > 40 ? String(text.prefix(40)) + "…" : text
    return "\"" + cut + "\""
}
