import VigilCore

/// The sensors' readings as a recording's rows arrive, merged across files by time, each file
/// streamed from its open descriptor (or bytes) one row ahead of the replay.
///
/// `advance(to:)` applies every row at or before a time, file by file in the recording's order,
/// each file's rows in its order: a cell with a number becomes its sensor's reading (`.good`,
/// stamped with the row's plant time, no latency); an empty or NaN cell leaves the sensor's
/// previous reading, so the monitor sees no new sample. Sensors no column feeds stay
/// `Reading.unread`. Each applied value also goes into its sensor's `TraceDecimator` for the plot.
/// Memory is a buffer per file and the traces, whatever the recording's length; no allocation
/// after construction (unless a record is longer than any before it and grows its file's buffer).
public struct RowMerger: ~Copyable {
    private let files: UnsafeMutablePointer<RecordingFileRows>
    private let fileCount: Int
    /// Recording time that becomes plant time `epoch`.
    let origin: Int64
    let epoch: UInt64
    /// All files' feeds in order: the sensor and the trace each one's values go to; file f's
    /// feeds start at `feedStart[f]`.
    private let feedSensor: [Int]
    private let feedTrace: [Int]
    private let feedStart: [Int]
    /// Per fed sensor (plant order): its sensor index and trace.
    private let tracedSensors: [Int]
    private var traces: [TraceDecimator]
    /// Readings in `plant.sensors` order.
    public let readings: UnsafeMutableBufferPointer<Reading>
    public private(set) var rowsRead = 0

    /// Opens every file's rows (reading each one's first row). Traces span
    /// `traceSpanNanoseconds` from the first row (default: to the last row).
    public init(recording: Recording, sensorCount: Int, epochNanoseconds: UInt64, traceBuckets: Int = ReplayPlot.buckets,
                traceSpanNanoseconds: Int64? = nil) throws(ReplayError) {
        let streams = UnsafeMutablePointer<RecordingFileRows>.allocate(capacity: max(1, recording.files.count))
        for (f, file) in recording.files.enumerated() {
            do throws(ReplayError) {
                (streams + f).initialize(to: try RecordingFileRows(file))
            } catch {
                streams.deinitialize(count: f)
                streams.deallocate()
                throw error
            }
        }
        files = streams
        fileCount = recording.files.count
        origin = recording.firstTime
        epoch = epochNanoseconds
        let traced = (0..<sensorCount).filter { s in recording.files.contains { $0.feeds.contains { $0.sensor == s } } }
        var traceOf = [Int](repeating: -1, count: sensorCount)
        for (k, s) in traced.enumerated() { traceOf[s] = k }
        var sensors: [Int] = [], traceIndices: [Int] = [], starts: [Int] = []
        for file in recording.files {
            starts.append(sensors.count)
            for feed in file.feeds {
                sensors.append(feed.sensor)
                traceIndices.append(traceOf[feed.sensor])
            }
        }
        feedSensor = sensors
        feedTrace = traceIndices
        feedStart = starts
        tracedSensors = traced
        let span = traceSpanNanoseconds ?? (recording.lastTime &- recording.firstTime)
        traces = traced.map { _ in TraceDecimator(buckets: traceBuckets, span: span) }
        readings = .allocate(capacity: max(1, sensorCount))
        readings.initialize(repeating: .unread)
    }

    deinit {
        files.deinitialize(count: fileCount)
        files.deallocate()
        readings.deallocate()
    }

    /// Applies the rows up to recording time `limit`; true when at least one arrived. Throws
    /// `ReplayError.fileChanged` when a file reads differently from when it was checked.
    public mutating func advance(to limit: Int64) throws(ReplayError) -> Bool {
        var arrived = false
        for f in 0..<fileCount {
            let file = files + f
            guard file.pointee.time <= limit && file.pointee.time != .max else { continue }
            arrived = true
            let values = file.pointee.values
            let first = feedStart[f], width = file.pointee.expected.feeds.count
            repeat {
                // Between a file's first and last time, both within the recording's span of `origin`.
                let elapsed = file.pointee.time &- origin
                let stamp = epoch &+ UInt64(elapsed)
                for k in 0..<width {
                    let v = values[k]
                    if !v.isNaN {
                        readings[feedSensor[first &+ k]] = Reading(value: v, timestampNanoseconds: stamp, latencyNanoseconds: 0, quality: .good)
                        traces[feedTrace[first &+ k]].add(elapsed, v)
                    }
                }
                rowsRead &+= 1
                try file.pointee.next()
            } while file.pointee.time <= limit && file.pointee.time != .max
        }
        return arrived
    }

    /// Per fed sensor (index in `plant.sensors`): the values applied so far, thinned for the plot.
    public var sensorTraces: [Int: TraceDecimator] {
        var out: [Int: TraceDecimator] = [:]
        for (k, s) in tracedSensors.enumerated() { out[s] = traces[k] }
        return out
    }
}
