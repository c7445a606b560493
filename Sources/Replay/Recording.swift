import VigilCore

/// What to read from the CSV files besides the plant.
public struct RecordingOptions: Sendable, Hashable {
    /// The header name of the time column, in every file.
    public var timeColumn: String
    public var maps: [ColumnMap]
    /// Let sensors no column feeds stay unread instead of refusing the recording.
    public var allowUnmapped: Bool

    public init(timeColumn: String = "time", maps: [ColumnMap] = [], allowUnmapped: Bool = false) {
        self.timeColumn = timeColumn
        self.maps = maps
        self.allowUnmapped = allowUnmapped
    }
}

/// A historian export for one plant: one or more CSV files, checked against the plant and read
/// whole, ready to merge by time (rows of different files interleave; a sensor may be fed by
/// several files, the latest row wins).
public struct Recording: Sendable {
    public let files: [RecordingFile]
    public let plan: ColumnPlan
    public let timeFormat: TimeFormat
    /// The earliest and latest row time of all files (nanoseconds in the files' time base).
    public let firstTime: Int64
    public let lastTime: Int64

    public var rowCount: Int { files.reduce(0) { $0 + $1.rowCount } }

    /// Reads the files at `paths`. Every problem is a `ReplayError` naming the file (and line and
    /// column for a CSV problem); the mapping is checked before any row is parsed.
    public static func load(paths: [String], plant: PlantConfig, options: RecordingOptions) throws(ReplayError) -> Recording {
        var contents: [(String, [UInt8])] = []
        for path in paths {
            do throws(CSVError) { contents.append((path, try FileBytes.contents(of: path))) } catch { throw .csv(error) }
        }
        return try parse(contents, plant: plant, options: options)
    }

    /// Reads files already in memory, named for errors.
    public static func parse(_ files: [(name: String, bytes: [UInt8])], plant: PlantConfig,
                             options: RecordingOptions) throws(ReplayError) -> Recording {
        guard !files.isEmpty else { throw .noFiles }
        var headers: [CSVHeader] = []
        for (name, bytes) in files {
            do throws(CSVError) {
                headers.append(try bytes.withUnsafeBufferPointer { b throws(CSVError) in
                    try CSVHeader.read(b, file: name, timeColumn: options.timeColumn)
                })
            } catch { throw .csv(error) }
        }
        let plan = try ColumnPlan(headers: headers, plant: plant, maps: options.maps, allowUnmapped: options.allowUnmapped)
        var parsed: [RecordingFile] = []
        for (k, (_, bytes)) in files.enumerated() {
            let required = parsed.first.map { ($0.timeFormat, file: $0.file) }
            do throws(CSVError) {
                parsed.append(try bytes.withUnsafeBufferPointer { b throws(CSVError) in
                    try RecordingFile.parse(b, header: headers[k], feeds: plan.feeds[k], requiredFormat: required)
                })
            } catch { throw .csv(error) }
        }
        let first = parsed.map { $0.times[0] }.min()!, last = parsed.map { $0.times[$0.rowCount - 1] }.max()!
        let (span, overflow) = last.subtractingReportingOverflow(first)
        guard !overflow, span <= maximumSpanNanoseconds else { throw .spanTooLong(seconds: Double(last) / 1e9 - Double(first) / 1e9) }
        return Recording(files: parsed, plan: plan, timeFormat: parsed[0].timeFormat, firstTime: first, lastTime: last)
    }

    /// The longest recording replayed: about 31.7 years of plant time (10¹⁸ ns).
    public static let maximumSpanNanoseconds: Int64 = 1_000_000_000_000_000_000
}
