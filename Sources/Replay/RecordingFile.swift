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

    /// Reads the first record of `source` (after blank and `#` lines). Names must be non-empty and
    /// unique; `timeColumn` must be one of them.
    static func read(_ source: CSVSource, timeColumn: String, chunkBytes: Int) throws(CSVError) -> CSVHeader {
        let file = source.name
        var records = try CSVRecordReader(source: source, chunkBytes: chunkBytes)
        guard let line = try records.nextRecord() else { throw CSVError(file: file, line: 1, problem: .empty) }
        let names = records.fields.map { records.scanner.text($0) }
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

/// One CSV file of a recording, checked row by row and not kept: what the check found (rows, first
/// and last time, time format, size and checksum) and the open file to stream the rows from again.
public struct RecordingFile: Sendable {
    public let file: String
    public let header: CSVHeader
    public let timeFormat: TimeFormat
    /// The columns read, in the order of each row's values.
    public let feeds: [ColumnFeed]
    public let rowCount: Int
    /// The first and last row's time in nanoseconds (seconds × 10⁹, or since 1970 for ISO 8601).
    public let firstTime: Int64
    public let lastTime: Int64
    /// The line of the first data row.
    public let firstLine: Int
    let source: CSVSource
    /// The buffer size the file is read through.
    let chunkBytes: Int
    /// The file's size and checksum as the check read it.
    let byteCount: Int
    let checksum: UInt64

    /// Reads every row of `source` under `header`, checking it (`CSVRowReader`); keeps no row. The
    /// first row decides the time format, which must be `requiredFormat` when given (the format of
    /// the files before this one).
    static func check(_ source: CSVSource, header: CSVHeader, feeds: [ColumnFeed], requiredFormat: (TimeFormat, file: String)?,
                      chunkBytes: Int) throws(CSVError) -> RecordingFile {
        var rows = try CSVRowReader(source: source, header: header, feeds: feeds, requiredFormat: requiredFormat, chunkBytes: chunkBytes)
        while try rows.next() {}
        guard let format = rows.format else { throw CSVError(file: source.name, line: rows.endLine, problem: .noRows) }
        return RecordingFile(file: source.name, header: header, timeFormat: format, feeds: feeds, rowCount: rows.rowCount,
                             firstTime: rows.firstTime, lastTime: rows.time, firstLine: rows.firstLine, source: source,
                             chunkBytes: chunkBytes, byteCount: rows.checksum.count, checksum: rows.checksum.value)
    }

    /// Every row's time and values, read again into memory (for tests and small files; the replay
    /// streams rows through `RowMerger`). Throws `ReplayError.fileChanged` when the file differs
    /// from what the check read.
    public func rows() throws(ReplayError) -> RecordedRows {
        var stream = try RecordingFileRows(self)
        var times: [Int64] = [], values: [Double] = []
        times.reserveCapacity(rowCount)
        values.reserveCapacity(rowCount * feeds.count)
        while !stream.atEnd {
            times.append(stream.time)
            values.append(contentsOf: stream.values)
            try stream.next()
        }
        return RecordedRows(times: times, feedCount: feeds.count, values: values)
    }
}

/// A file's rows held in memory (`RecordingFile.rows()`).
public struct RecordedRows: Sendable, Hashable {
    /// Row times, strictly increasing.
    public let times: [Int64]
    public let feedCount: Int
    /// Row-major, `feedCount` per row; NaN where the row brings no new value (empty, NaN).
    public let values: [Double]

    public var rowCount: Int { times.count }

    /// The value of feed `k` in `row` (NaN: none).
    public func value(row: Int, feed k: Int) -> Double { values[row * feedCount + k] }
}

/// A checked file's rows read again, each held to what the check found: the same time format, the
/// same first and last time, no more rows, and at the end the same size and checksum. Any
/// difference is `ReplayError.fileChanged` — never a trap, whatever the file became.
struct RecordingFileRows: ~Copyable {
    private var rows: CSVRowReader
    let expected: RecordingFile
    /// The current row's time; `Int64.max` after the last row (row times stay within ±9.2 × 10¹⁸).
    private(set) var time: Int64 = .max

    /// Reads the file's first row.
    init(_ file: RecordingFile) throws(ReplayError) {
        var rows = try Self.open(file)
        let first = try Self.next(&rows, expected: file)
        self.rows = rows
        expected = file
        time = first
    }

    private static func open(_ file: RecordingFile) throws(ReplayError) -> CSVRowReader {
        do throws(CSVError) {
            return try CSVRowReader(source: file.source, header: file.header, feeds: file.feeds,
                                    requiredFormat: (file.timeFormat, file.file), chunkBytes: file.chunkBytes)
        } catch {
            throw .fileChanged(file: file.file, line: error.line)
        }
    }

    /// The current row's value per feed (NaN: none).
    var values: UnsafeMutableBufferPointer<Double> { rows.values }
    var atEnd: Bool { time == .max }

    /// Moves to the next row (`atEnd` after the last).
    mutating func next() throws(ReplayError) {
        time = try Self.next(&rows, expected: expected)
    }

    /// Reads `rows`' next row and checks it against the file as checked; returns its time, or
    /// `Int64.max` at the end.
    private static func next(_ rows: inout CSVRowReader, expected: RecordingFile) throws(ReplayError) -> Int64 {
        let more: Bool
        do throws(CSVError) {
            more = try rows.next()
        } catch {
            throw .fileChanged(file: expected.file, line: error.line)
        }
        if more {
            guard rows.time <= expected.lastTime && (rows.rowCount > 1 || rows.time == expected.firstTime) else {
                throw .fileChanged(file: expected.file, line: rows.line)
            }
            return rows.time
        }
        let sum = rows.checksum
        guard rows.rowCount == expected.rowCount && rows.time == expected.lastTime && sum.count == expected.byteCount
                && sum.value == expected.checksum else {
            throw .fileChanged(file: expected.file, line: rows.endLine)
        }
        return .max
    }
}
