/// A recording file's data rows parsed one at a time, each checked as it is read: the number of
/// fields, the time (its format decided by the first row, which must match `requiredFormat` when
/// given; strictly increasing) and the numbers in the columns that feed sensors (the others are
/// only counted). The first read of a file (`RecordingFile.check`) and the replay's second
/// (`RecordingFileRows`) are this same code. Allocates nothing per row once the field buffer has
/// grown to the header's width.
struct CSVRowReader: ~Copyable {
    private var records: CSVRecordReader
    let header: CSVHeader
    let feeds: [ColumnFeed]
    /// The time format the first row must have, and the earlier file that decided it.
    let requiredFormat: (TimeFormat, file: String)?
    /// The current row's value per feed (NaN: no new value).
    let values: UnsafeMutableBufferPointer<Double>
    /// The current row's time in nanoseconds (seconds × 10⁹, or since 1970 for ISO 8601).
    private(set) var time: Int64 = 0
    /// The current row's line.
    private(set) var line = 0
    /// Rows read so far.
    private(set) var rowCount = 0
    /// The format of the times (nil before the first row).
    private(set) var format: TimeFormat?
    private(set) var firstTime: Int64 = 0
    private(set) var firstLine = 0
    /// The current row's time field as file offsets: the next row's error quotes it, when the
    /// buffer may have moved on.
    private var timeStart = 0, timeEnd = 0

    /// Starts reading `source`'s rows after its header record.
    init(source: CSVSource, header: CSVHeader, feeds: [ColumnFeed], requiredFormat: (TimeFormat, file: String)?,
         chunkBytes: Int) throws(CSVError) {
        var records = try CSVRecordReader(source: source, chunkBytes: chunkBytes)
        _ = try records.nextRecord()
        self.records = records
        self.header = header
        self.feeds = feeds
        self.requiredFormat = requiredFormat
        let storage = UnsafeMutablePointer<Double>.allocate(capacity: max(1, feeds.count))
        storage.initialize(repeating: .nan, count: max(1, feeds.count))
        values = UnsafeMutableBufferPointer(start: storage, count: feeds.count)
    }

    deinit { values.baseAddress!.deallocate() }

    var file: String { records.source.name }
    /// The line after the last record, at the end of the file.
    var endLine: Int { records.scanner.line }
    /// Of the bytes read so far (at the end: of the whole file).
    var checksum: StreamChecksum { records.checksum }

    /// Reads the next row into `time` and `values`; false at the end of the file.
    mutating func next() throws(CSVError) -> Bool {
        guard let line = try records.nextRecord() else { return false }
        let file = records.source.name
        let width = header.columns.count
        guard records.fields.count == width else {
            throw CSVError(file: file, line: line, problem: .fieldCount(found: records.fields.count, expected: width))
        }
        let bytes = records.window
        // The time.
        let tf = records.fields[header.timeColumn]
        let t: Int64
        if let format {
            guard !tf.escaped, let parsed = Self.time(bytes, tf, format) else {
                throw CSVError(file: file, line: line, column: header.columns[header.timeColumn],
                               problem: .notATime(found: records.scanner.text(tf), expected: format))
            }
            t = parsed
        } else {
            guard !tf.escaped, let (parsed, found) = Self.firstTime(bytes, tf) else {
                throw CSVError(file: file, line: line, column: header.columns[header.timeColumn],
                               problem: .notATime(found: records.scanner.text(tf), expected: requiredFormat?.0))
            }
            if let (required, earlierFile) = requiredFormat, required != found {
                throw CSVError(file: file, line: line, column: header.columns[header.timeColumn],
                               problem: .timeFormatDiffers(found: found, earlier: required, earlierFile: earlierFile))
            }
            format = found
            firstTime = parsed
            firstLine = line
            t = parsed
        }
        if rowCount > 0 && t <= time {
            throw CSVError(file: file, line: line, column: header.columns[header.timeColumn],
                           problem: .timeNotIncreasing(found: records.scanner.text(tf), previous: records.source.text(from: timeStart, to: timeEnd),
                                                       previousLine: self.line))
        }
        time = t
        self.line = line
        rowCount += 1
        timeStart = records.windowFileOffset + tf.start
        timeEnd = records.windowFileOffset + tf.end
        // The values.
        for k in 0..<feeds.count {
            values[k] = try value(bytes, records.fields[feeds[k].column], column: feeds[k].column, line: line)
        }
        return true
    }

    /// A cell's number; NaN for an empty cell or `NaN`. (The column's name is looked up only for an error.)
    @inline(__always)
    private func value(_ bytes: UnsafeBufferPointer<UInt8>, _ f: CSVField, column: Int, line: Int) throws(CSVError) -> Double {
        if f.start == f.end { return .nan }
        if !f.escaped, let v = DecimalText.double(bytes, f.start, f.end) {
            guard v.isFinite else {
                throw CSVError(file: records.source.name, line: line, column: header.columns[column], problem: .notFinite(found: records.scanner.text(f)))
            }
            return v
        }
        if !f.escaped && DecimalText.isNaN(bytes, f.start, f.end) { return .nan }
        throw CSVError(file: records.source.name, line: line, column: header.columns[column], problem: .notANumber(found: records.scanner.text(f)))
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
}
