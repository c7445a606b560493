import VigilCore

/// The sensors' readings as a recording's rows arrive, merged across files by time.
///
/// `advance(to:)` applies every row at or before a time, in each file's order: a cell with a
/// number becomes its sensor's reading (`.good`, stamped with the row's plant time, no latency);
/// an empty or NaN cell leaves the sensor's previous reading, so the monitor sees no new sample.
/// Sensors no column feeds stay `Reading.unread`. No allocation after construction.
public struct RowMerger: ~Copyable {
    let files: [RecordingFile]
    /// Recording time that becomes plant time `epoch`.
    let origin: Int64
    let epoch: UInt64
    private var cursors: [Int]
    /// Per file: the time of its next row (Int64.max once read to the end; row times stay within ±9.2 × 10¹⁸).
    private var nextTimes: [Int64]
    /// Readings in `plant.sensors` order.
    public let readings: UnsafeMutableBufferPointer<Reading>
    public private(set) var rowsRead = 0

    public init(recording: Recording, sensorCount: Int, epochNanoseconds: UInt64) {
        files = recording.files
        origin = recording.firstTime
        epoch = epochNanoseconds
        cursors = Array(repeating: 0, count: files.count)
        nextTimes = files.map { $0.times[0] }
        readings = .allocate(capacity: max(1, sensorCount))
        readings.initialize(repeating: .unread)
    }

    deinit { readings.deallocate() }

    /// Applies the rows up to recording time `limit`; true when at least one arrived.
    public mutating func advance(to limit: Int64) -> Bool {
        var arrived = false
        for f in 0..<nextTimes.count where nextTimes[f] <= limit && nextTimes[f] != .max {
            arrived = true
            let file = files[f]
            var row = cursors[f]
            let width = file.feeds.count
            let origin = self.origin, epoch = self.epoch, readings = self.readings
            file.values.withUnsafeBufferPointer { values in
                file.times.withUnsafeBufferPointer { times in
                    file.feeds.withUnsafeBufferPointer { feeds in
                        while row < times.count && times[row] <= limit {
                            let stamp = epoch &+ UInt64(times[row] &- origin)
                            let base = row &* width
                            for k in 0..<width {
                                let v = values[base &+ k]
                                if !v.isNaN {
                                    readings[feeds[k].sensor] = Reading(value: v, timestampNanoseconds: stamp, latencyNanoseconds: 0, quality: .good)
                                }
                            }
                            row &+= 1
                        }
                    }
                }
            }
            rowsRead &+= row - cursors[f]
            cursors[f] = row
            nextTimes[f] = row < file.rowCount ? file.times[row] : .max
        }
        return arrived
    }
}
