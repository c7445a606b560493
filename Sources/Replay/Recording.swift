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

/// A historian export for one plant: one or more CSV files, checked against the plant row by row
/// and streamed again while the replay steps (`RowMerger`), so memory does not grow with their
/// length. Rows of different files interleave by time; a sensor may be fed by several files, the
/// latest row wins.
public struct Recording: Sendable {
    public let files: [RecordingFile]
    public let plan: ColumnPlan
    public let timeFormat: TimeFormat
    /// The earliest and latest row time of all files (nanoseconds in the files' time base).
    public let firstTime: Int64
    public let lastTime: Int64

    public var rowCount: Int { files.reduce(0) { $0 + $1.rowCount } }

    /// Opens the files at `paths` and checks them. Every problem is a `ReplayError` naming the file
    /// (and line and column for a CSV problem), found here, before a replay steps: first a file that
    /// cannot be opened, then the headers and the mapping, then every row of each file in order.
    /// The files stay open for the replay to read again.
    public static func load(paths: [String], plant: PlantConfig, options: RecordingOptions) throws(ReplayError) -> Recording {
        var sources: [CSVSource] = []
        for path in paths {
            do throws(CSVError) { sources.append(try CSVSource(path: path)) } catch { throw .csv(error) }
        }
        return try check(sources, plant: plant, options: options, chunkBytes: CSVRecordReader.defaultChunkBytes)
    }

    /// Checks files already in memory, named for errors; read through the same buffered reader as
    /// files (`chunkBytes` at a time).
    public static func parse(_ files: [(name: String, bytes: [UInt8])], plant: PlantConfig,
                             options: RecordingOptions) throws(ReplayError) -> Recording {
        try parse(files, plant: plant, options: options, chunkBytes: CSVRecordReader.defaultChunkBytes)
    }

    static func parse(_ files: [(name: String, bytes: [UInt8])], plant: PlantConfig, options: RecordingOptions,
                      chunkBytes: Int) throws(ReplayError) -> Recording {
        try check(files.map { CSVSource(name: $0.name, bytes: $0.bytes) }, plant: plant, options: options, chunkBytes: chunkBytes)
    }

    static func check(_ sources: [CSVSource], plant: PlantConfig, options: RecordingOptions, chunkBytes: Int) throws(ReplayError) -> Recording {
        guard !sources.isEmpty else { throw .noFiles }
        var headers: [CSVHeader] = []
        for source in sources {
            do throws(CSVError) {
                headers.append(try CSVHeader.read(source, timeColumn: options.timeColumn, chunkBytes: chunkBytes))
            } catch { throw .csv(error) }
        }
        let plan = try ColumnPlan(headers: headers, plant: plant, maps: options.maps, allowUnmapped: options.allowUnmapped)
        var checked: [RecordingFile] = []
        for (k, source) in sources.enumerated() {
            let required = checked.first.map { ($0.timeFormat, file: $0.file) }
            do throws(CSVError) {
                checked.append(try RecordingFile.check(source, header: headers[k], feeds: plan.feeds[k], requiredFormat: required,
                                                       chunkBytes: chunkBytes))
            } catch { throw .csv(error) }
        }
        let first = checked.map(\.firstTime).min()!, last = checked.map(\.lastTime).max()!
        let (span, overflow) = last.subtractingReportingOverflow(first)
        guard !overflow, span <= maximumSpanNanoseconds else { throw .spanTooLong(seconds: Double(last) / 1e9 - Double(first) / 1e9) }
        return Recording(files: checked, plan: plan, timeFormat: checked[0].timeFormat, firstTime: first, lastTime: last)
    }

    /// The longest recording replayed: about 31.7 years of plant time (10¹⁸ ns).
    public static let maximumSpanNanoseconds: Int64 = 1_000_000_000_000_000_000
}
