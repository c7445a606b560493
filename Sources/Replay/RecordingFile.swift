/// A CSV column that feeds a plant sensor.
public struct ColumnFeed: Sendable, Hashable {
    /// Position in the header (0-based).
    public var column: Int
    /// Index in `plant.sensors`.
    public var sensor: Int

    public init(column: Int, sensor: Int) {
        self.column = column
        self.sensor = sensor
    }
}

/// A CSV file's header line: its column names and which one holds the time.
public struct CSVHeader: Sendable, Hashable {
    public var file: String
    public var columns: [String]
    public var timeColumn: Int

    /// Reads the first record of `bytes` (after blank and `#` lines). Names must be non-empty and
    /// unique; `timeColumn` must be one of them.
    public static func read(_ bytes: UnsafeBufferPointer<UInt8>, file: String, timeColumn: String) throws(CSVError) -> CSVHeader {
        var scanner = CSVScanner(bytes)
        var fields: [CSVField] = []
        let first: Int?
        do throws(CSVScanner.Failure) {
            first = try scanner.nextRecord(into: &fields)
        } catch {
            throw RecordingFile.error(error, file: file, scanner: scanner)
        }
        guard let line = first else { throw CSVError(file: file, line: 1, problem: .empty) }
        let names = fields.map { scanner.text($0) }
        var seen: [String: Int] = [:]
        for (i, name) in names.enumerated() {
            guard !name.isEmpty else { throw CSVError(file: file, line: line, column: "#\(i + 1)", problem: .emptyColumnName(position: i + 1)) }
            if let first = seen[name] { throw CSVError(file: file, line: line, column: name, problem: .duplicateColumn(firstPosition: first + 1)) }
            seen[name] = i
        }
        guard let time = seen[timeColumn] else {
            throw CSVError(file: file, line: line, column: timeColumn, problem: .noTimeColumn(name: timeColumn, header: names))
        }
        return CSVHeader(file: file, columns: names, timeColumn: time)
    }
}

/// One CSV file read for replay: every row's time and the values of the columns that feed sensors.
public struct RecordingFile: Sendable {
    public let file: String
    public let header: CSVHeader
    public let timeFormat: TimeFormat
    /// Row times in nanoseconds (seconds × 10⁹, or since 1970 for ISO 8601), strictly increasing.
    public let times: [Int64]
    /// The columns read, in the order of each row's values.
    public let feeds: [ColumnFeed]
    /// Row-major, `feeds.count` per row; NaN where the row brings no new value (empty, NaN).
    public let values: [Double]
    /// The line of the first data row.
    public let firstLine: Int

    public var rowCount: Int { times.count }

    /// The value of feed `k` in `row` (NaN: none).
    @inline(__always) public func value(row: Int, feed k: Int) -> Double { values[row * feeds.count + k] }

    /// Parses the rows of `bytes` under `header`, reading the time and the `feeds` columns (others
    /// are only counted). The first row decides the time format, which must be `requiredFormat`
    /// when given (the format of the files before this one).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, header: CSVHeader, feeds: [ColumnFeed],
                             requiredFormat: (TimeFormat, file: String)? = nil) throws(CSVError) -> RecordingFile {
        let file = header.file
        var scanner = CSVScanner(bytes)
        var fields: [CSVField] = []
        let width = header.columns.count
        do throws(CSVScanner.Failure) {
            _ = try scanner.nextRecord(into: &fields) // the header
        } catch {
            throw Self.error(error, file: file, scanner: scanner)
        }
        // About 8 bytes per field: enough room for most files without growing.
        let estimatedRows = max(16, bytes.count / max(8, 8 * width))
        var times: [Int64] = []
        times.reserveCapacity(estimatedRows)
        var values: [Double] = []
        values.reserveCapacity(estimatedRows * feeds.count)
        var format: TimeFormat? = nil
        var firstLine = 0
        var previous: (line: Int, field: CSVField)? = nil
        while true {
            let next: Int?
            do throws(CSVScanner.Failure) {
                next = try scanner.nextRecord(into: &fields)
            } catch {
                throw Self.error(error, file: file, scanner: scanner)
            }
            guard let line = next else { break }
            guard fields.count == width else {
                throw CSVError(file: file, line: line, problem: .fieldCount(found: fields.count, expected: width))
            }
            // The time.
            let tf = fields[header.timeColumn]
            let timeName = header.columns[header.timeColumn]
            let t: Int64
            if let format {
                guard !tf.escaped, let parsed = Self.time(bytes, tf, format) else {
                    throw CSVError(file: file, line: line, column: timeName, problem: .notATime(found: scanner.text(tf), expected: format))
                }
                t = parsed
            } else {
                guard !tf.escaped, let (parsed, found) = Self.firstTime(bytes, tf) else {
                    throw CSVError(file: file, line: line, column: timeName,
                                   problem: .notATime(found: scanner.text(tf), expected: requiredFormat?.0))
                }
                if let (required, earlierFile) = requiredFormat, required != found {
                    throw CSVError(file: file, line: line, column: timeName,
                                   problem: .timeFormatDiffers(found: found, earlier: required, earlierFile: earlierFile))
                }
                format = found
                firstLine = line
                t = parsed
            }
            if let p = previous, let last = times.last, t <= last {
                throw CSVError(file: file, line: line, column: timeName,
                               problem: .timeNotIncreasing(found: scanner.text(tf), previous: scanner.text(p.field), previousLine: p.line))
            }
            previous = (line, tf)
            times.append(t)
            // The values.
            for feed in feeds {
                values.append(try Self.value(bytes, fields[feed.column], scanner: scanner, header: header, column: feed.column, line: line))
            }
        }
        guard let format else { throw CSVError(file: file, line: scanner.line, problem: .noRows) }
        return RecordingFile(file: file, header: header, timeFormat: format, times: times, feeds: feeds, values: values,
                             firstLine: firstLine)
    }

    /// A cell's number; NaN for an empty cell or `NaN`. (The column's name is looked up only for an error.)
    @inline(__always)
    private static func value(_ bytes: UnsafeBufferPointer<UInt8>, _ f: CSVField, scanner: CSVScanner, header: borrowing CSVHeader,
                              column: Int, line: Int) throws(CSVError) -> Double {
        if f.start == f.end { return .nan }
        if !f.escaped, let v = DecimalText.double(bytes, f.start, f.end) {
            guard v.isFinite else {
                throw CSVError(file: header.file, line: line, column: header.columns[column], problem: .notFinite(found: scanner.text(f)))
            }
            return v
        }
        if !f.escaped && DecimalText.isNaN(bytes, f.start, f.end) { return .nan }
        throw CSVError(file: header.file, line: line, column: header.columns[column], problem: .notANumber(found: scanner.text(f)))
    }

    private static func time(_ bytes: UnsafeBufferPointer<UInt8>, _ f: CSVField, _ format: TimeFormat) -> Int64? {
        switch format {
        case .seconds: return DecimalText.nanoseconds(fromSeconds: bytes, f.start, f.end)
        case .iso8601: return ISOTimestamp.nanoseconds(bytes, f.start, f.end)
        }
    }

    /// The first row's time and the format it is written in.
    private static func firstTime(_ bytes: UnsafeBufferPointer<UInt8>, _ f: CSVField) -> (Int64, TimeFormat)? {
        if let t = DecimalText.nanoseconds(fromSeconds: bytes, f.start, f.end) { return (t, .seconds) }
        if let t = ISOTimestamp.nanoseconds(bytes, f.start, f.end) { return (t, .iso8601) }
        return nil
    }

    /// A scanner failure as a located error.
    static func error(_ failure: CSVScanner.Failure, file: String, scanner: CSVScanner) -> CSVError {
        switch failure {
        case .unterminatedQuote(let line):
            return CSVError(file: file, line: line, problem: .unterminatedQuote)
        case .textAfterClosingQuote(let line, let start, let end):
            return CSVError(file: file, line: line, problem: .textAfterClosingQuote(found: scanner.text(from: start, to: end)))
        }
    }
}
