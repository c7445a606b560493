import Foundation
import Testing
import VigilCore
import Kernel
import CAllocCounter
@testable import Replay

/// A recording is checked in one read and streamed in a second, from the open file: what the replay
/// gets is what a plain reading of the text gives (merged across files as rows arrive, the latest
/// row winning, file order on ties), through any buffer size; a file changed in place between the
/// reads, or while the replay runs, is an error naming it, never a trap.
@Suite struct RecordingStreamTests {
    typealias S = ReplayTestSupport
    static let period: Int64 = 10_000_000

    // MARK: A plain reference

    /// A plain reading of a simple CSV text (no quotes, LF line ends, times in seconds with up to 9
    /// decimals): each row's time and the values of `feeds`' columns (NaN for empty or `NaN`).
    static func plainRows(_ text: String, feeds: [ColumnFeed]) -> RecordedRows {
        var times: [Int64] = [], values: [Double] = []
        for line in text.split(separator: "\n").dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            let parts = cells[0].split(separator: ".")
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            times.append(Int64(parts[0])! * 1_000_000_000 + Int64(fraction + String(repeating: "0", count: 9 - fraction.count))!)
            for feed in feeds {
                let cell = String(cells[feed.column])
                values.append(cell.isEmpty || cell == "NaN" ? .nan : Double(cell)!)
            }
        }
        return RecordedRows(times: times, feedCount: feeds.count, values: values)
    }

    /// The readings rows give when they are applied in memory: before each step every row at or
    /// before its time, file by file, each file's rows in order.
    struct ReferenceMerger {
        let files: [(rows: RecordedRows, feeds: [ColumnFeed])]
        let origin: Int64
        var cursors: [Int]
        var readings: [Reading]
        var rowsRead = 0
        var traces: [Int: TraceDecimator] = [:]

        init(files: [(rows: RecordedRows, feeds: [ColumnFeed])], sensorCount: Int, span: Int64) {
            self.files = files
            origin = files.map { $0.rows.times[0] }.min()!
            cursors = files.map { _ in 0 }
            readings = Array(repeating: .unread, count: sensorCount)
            // The plot's traces as it drew them from rows held in memory: file by file, row by row.
            for file in files {
                for (k, feed) in file.feeds.enumerated() {
                    for row in 0..<file.rows.rowCount {
                        traces[feed.sensor, default: TraceDecimator(buckets: ReplayPlot.buckets, span: span)]
                            .add(file.rows.times[row] - origin, file.rows.value(row: row, feed: k))
                    }
                }
            }
        }

        mutating func advance(to limit: Int64) -> Bool {
            var arrived = false
            for f in files.indices {
                let (rows, feeds) = files[f]
                while cursors[f] < rows.rowCount && rows.times[cursors[f]] <= limit {
                    arrived = true
                    let row = cursors[f]
                    for (k, feed) in feeds.enumerated() where !rows.value(row: row, feed: k).isNaN {
                        readings[feed.sensor] = Reading(value: rows.value(row: row, feed: k),
                                                        timestampNanoseconds: ReplayRun.epochNanoseconds + UInt64(rows.times[row] - origin),
                                                        latencyNanoseconds: 0, quality: .good)
                    }
                    cursors[f] += 1
                    rowsRead += 1
                }
            }
            return arrived
        }
    }

    /// Two minutes of the demo plant (PT-101A stuck, FT-110 dropping out: empty cells) split into
    /// two files by column, the second with its own row times: a third of the rows left out, a third
    /// 50 ms later, the rest at the first file's times (ties). PT-101A is in both files, the
    /// second's value shifted on every fifth row and `NaN` on every seventh.
    static func twoFiles(seconds: Double = 120) throws -> (a: String, b: String) {
        let csv = try RecordingGenerator(plant: try S.demoPlant())
            .csv(seconds: seconds, faults: [RecordedFault(argument: "PT-101A stuck at 30s for 20s"), RecordedFault(argument: "FT-110 dropout at 60s for 5s")])
        let lines = String(decoding: csv, as: UTF8.self).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        var a = lines[0][0...5].joined(separator: ",") + "\n", b = ([lines[0][0], lines[0][1]] + lines[0][6...]).joined(separator: ",") + "\n"
        for (r, cells) in lines.dropFirst().enumerated() {
            a += cells[0...5].joined(separator: ",") + "\n"
            guard r % 3 != 0 else { continue }
            let parts = cells[0].split(separator: ".")
            var ms = Int(parts[0])! * 1000 + Int(parts[1])!
            if r % 3 == 2 { ms += 50 }
            let time = "\(ms / 1000)." + String(String(1000 + ms % 1000).dropFirst())
            var pt = cells[1]
            if !pt.isEmpty && r % 5 == 0 { pt = String(Double(pt)! + 0.4) }
            if r % 7 == 0 { pt = "NaN" }
            b += ([time, pt] + cells[6...]).joined(separator: ",") + "\n"
        }
        return (a, b)
    }

    /// Readings equal to the bit (an unread reading's value is NaN).
    static func same(_ a: [Reading], _ b: [Reading]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy {
            $0.value.bitPattern == $1.value.bitPattern && $0.timestampNanoseconds == $1.timestampNanoseconds
                && $0.latencyNanoseconds == $1.latencyNanoseconds && $0.quality == $1.quality
        }
    }

    /// Events as text (some carry NaN statistics, which `==` calls unequal to themselves).
    static func text(_ events: [TimedEvent]) -> String { "\(events)" }

    /// Writes `texts` into a fresh folder; returns their paths.
    static func write(_ texts: [(String, String)]) throws -> (directory: String, paths: [String]) {
        let directory = S.temporaryDirectory()
        var paths: [String] = []
        for (name, text) in texts {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
            paths.append(directory + "/" + name)
        }
        return (directory, paths)
    }

    // MARK: Streaming reads what the text holds

    @Test func streamedRowsAreWhatAPlainReadingOfTheTextGives() throws {
        let (a, b) = try Self.twoFiles()
        let plant = try S.demoPlant()
        let (directory, paths) = try Self.write([("a.csv", a), ("b.csv", b)])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fromFiles = try Recording.load(paths: paths, plant: plant, options: RecordingOptions())
        var recordings = [fromFiles]
        for chunk in [7, 100, 4096] {
            recordings.append(try Recording.parse([("a.csv", Array(a.utf8)), ("b.csv", Array(b.utf8))], plant: plant,
                                                  options: RecordingOptions(), chunkBytes: chunk))
        }
        for recording in recordings {
            for (file, text) in zip(recording.files, [a, b]) {
                let plain = Self.plainRows(text, feeds: file.feeds)
                let streamed = try file.rows()
                #expect(streamed.times == plain.times)
                #expect(streamed.values.map(\.bitPattern) == plain.values.map(\.bitPattern))
                #expect(file.rowCount == plain.rowCount && file.firstTime == plain.times.first && file.lastTime == plain.times.last)
            }
            #expect(recording.rowCount == 1_201 + 800)
            #expect(recording.files[1].feeds.map(\.sensor) == [0, 5, 6, 7, 8, 9, 10], "PT-101A and the sensors after FT-110")
        }
        let emptyCells = try fromFiles.files[0].rows().values.filter(\.isNaN).count, nanCells = try fromFiles.files[1].rows().values.filter(\.isNaN).count
        #expect(emptyCells > 100 && nanCells > 100, "empty and NaN cells: \(emptyCells), \(nanCells)")
    }

    /// Every step's readings from the streamed files equal the in-memory merge's, ties included;
    /// so do the plot's traces.
    @Test(arguments: [false, true])
    func streamedFilesMergeAsRowsInMemoryDo(swapped: Bool) throws {
        let (a, b) = try Self.twoFiles()
        let texts = swapped ? [("b.csv", b), ("a.csv", a)] : [("a.csv", a), ("b.csv", b)]
        let plant = try S.demoPlant()
        let (directory, paths) = try Self.write(texts)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let loaded = try Recording.load(paths: paths, plant: plant, options: RecordingOptions())
        let inSmallPieces = try Recording.parse(texts.map { ($0.0, Array($0.1.utf8)) }, plant: plant, options: RecordingOptions(), chunkBytes: 13)
        let span = loaded.lastTime - loaded.firstTime + Self.period
        for recording in [loaded, inSmallPieces] {
            var reference = ReferenceMerger(files: zip(recording.files, texts).map { (Self.plainRows($1.1, feeds: $0.feeds), $0.feeds) },
                                            sensorCount: plant.sensors.count, span: span)
            var merger = try RowMerger(recording: recording, sensorCount: plant.sensors.count, epochNanoseconds: ReplayRun.epochNanoseconds,
                                       traceSpanNanoseconds: span)
            var limit = recording.firstTime, steps = 0, mismatches = 0
            while limit <= recording.lastTime + Self.period {
                let arrived = try merger.advance(to: limit), expected = reference.advance(to: limit)
                if arrived != expected || !Self.same(Array(merger.readings), reference.readings) { mismatches += 1 }
                limit += Self.period
                steps += 1
            }
            #expect(mismatches == 0, "\(mismatches) of \(steps) steps read other values than the in-memory merge")
            #expect(merger.rowsRead == reference.rowsRead && merger.rowsRead == recording.rowCount)
            let traces = merger.sensorTraces
            #expect(Set(traces.keys) == Set(reference.traces.keys))
            for (sensor, trace) in reference.traces {
                let streamed = try #require(traces[sensor])
                #expect(streamed.count == trace.count)
                let x = streamed.runs(gapBuckets: 2), y = trace.runs(gapBuckets: 2)
                #expect(x.count == y.count && zip(x, y).allSatisfy { $0.map(\.0) == $1.map(\.0) && $0.map(\.1.bitPattern) == $1.map(\.1.bitPattern) },
                        "sensor \(sensor)'s trace")
            }
        }
    }

    /// A file that is only read through its descriptor gives the same replay as its bytes in memory.
    @Test func aReplayFromFilesEqualsOneFromBytes() throws {
        let (a, b) = try Self.twoFiles(seconds: 60)
        let plant = try S.demoPlant()
        let (directory, paths) = try Self.write([("a.csv", a), ("b.csv", b)])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fromFiles = try ReplayRun(plant: plant, recording: try Recording.load(paths: paths, plant: plant, options: RecordingOptions())).run()
        let fromBytes = try ReplayRun(plant: plant, recording: try Recording.parse([("a.csv", Array(a.utf8)), ("b.csv", Array(b.utf8))],
                                                                                   plant: plant, options: RecordingOptions(), chunkBytes: 5)).run()
        #expect(Self.text(fromFiles.events) == Self.text(fromBytes.events) && fromFiles.events.count > 10)
        #expect(fromFiles.rowsRead == fromBytes.rowsRead && fromFiles.stateRows == fromBytes.stateRows && fromFiles.steps == 6_001)
    }

    /// Streaming allocates nothing per row: once every file's buffer is read and each trace has
    /// its buckets, a replay's worth of `advance` calls over two files on disk counts no heap
    /// allocation on this thread. A property of the optimized build (README's `swift test -c release`).
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func streamingRowsAllocatesNothing() throws {
        #expect(vigil_alloc_counter_active() == 1)
        let (a, b) = try Self.twoFiles(seconds: 1_800)
        let plant = try S.demoPlant()
        let (directory, paths) = try Self.write([("a.csv", a), ("b.csv", b)])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recording = try Recording.load(paths: paths, plant: plant, options: RecordingOptions())
        #expect(a.utf8.count > 2 * CSVRecordReader.defaultChunkBytes, "the counted steps refill the buffers")
        var merger = try RowMerger(recording: recording, sensorCount: plant.sensors.count, epochNanoseconds: ReplayRun.epochNanoseconds)
        var limit = recording.firstTime
        _ = try merger.advance(to: limit)
        limit += Self.period
        let before = vigil_thread_allocations()
        var arrivals = 0
        while limit <= recording.lastTime + Self.period {
            if try merger.advance(to: limit) { arrivals += 1 }
            limit += Self.period
        }
        let allocations = vigil_thread_allocations() - before
        #expect(merger.rowsRead == recording.rowCount && arrivals > 10_000)
        #expect(allocations == 0, "\(allocations) heap allocations streaming \(merger.rowsRead) rows")
    }

    // MARK: Errors come before the first step

    /// The check reads every row: a bad cell in the last row of a file many buffers long is refused
    /// by `Recording.load`, at its line and column, before a replay could start.
    @Test func aBadCellInTheLastRowOfALargeFileIsRefusedBeforeAnyStep() throws {
        let csv = try RecordingGenerator(plant: try S.demoPlant()).csv(seconds: 3_600)
        let lines = String(decoding: csv, as: UTF8.self).split(separator: "\n")
        var cells = lines.last!.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        cells[1] = "x" + cells[1]
        let text = lines.dropLast().joined(separator: "\n") + "\n" + cells.joined(separator: ",") + "\n"
        #expect(text.utf8.count > 8 * CSVRecordReader.defaultChunkBytes)
        let (directory, paths) = try Self.write([("day.csv", text)])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let plant = try S.demoPlant()
        do throws(ReplayError) {
            _ = try Recording.load(paths: paths, plant: plant, options: RecordingOptions())
            Issue.record("loaded")
        } catch {
            let last = lines.count
            #expect(error.description.hasPrefix("\(paths[0]):\(last) column PT-101A: \"x"), "\(error)")
        }
    }

    // MARK: A file changed under the replay

    /// What each change does to a recording checked before it: the replay throws `fileChanged`
    /// naming the file (never traps), or, for a file replaced by a new one under its name, replays
    /// the file it checked.
    enum Change: String, CaseIterable, CustomStringConvertible {
        case truncated, emptied, appended, digitRewritten, timeRewritten, garbage, replacedByRename
        var description: String { rawValue }
    }

    @Test(arguments: Change.allCases)
    func aFileChangedBetweenTheCheckAndTheReplayIsAnError(_ change: Change) throws {
        let plant = try S.demoPlant()
        let text = String(decoding: try RecordingGenerator(plant: plant).csv(seconds: 60), as: UTF8.self)
        let (directory, paths) = try Self.write([("a.csv", text)])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = paths[0]
        let recording = try Recording.load(paths: paths, plant: plant, options: RecordingOptions())
        let unchanged = try ReplayRun(plant: plant, recording: try Recording.parse([(path, Array(text.utf8))], plant: plant, options: RecordingOptions())).run()
        var bytes = Array(text.utf8)
        let middle = bytes.count / 2
        switch change {
        case .truncated: bytes.removeLast(bytes.count - middle)
        case .emptied: bytes = []
        case .appended: bytes += Array("60.100,6,6,6,1.2,42,11.5,3,18.5,18.5,55,2.1\n".utf8)
        case .digitRewritten:
            // The same size, every row still valid: only the checksum tells.
            let digit = bytes[middle...].firstIndex { (UInt8(ascii: "1")...UInt8(ascii: "8")).contains($0) }!
            bytes[digit] += 1
        case .timeRewritten:
            let lineStart = bytes[middle...].firstIndex(of: UInt8(ascii: "\n"))! + 1
            bytes[lineStart] = UInt8(ascii: "0")
        case .garbage: bytes.replaceSubrange(middle..<(middle + 40), with: repeatElement(UInt8(ascii: "\""), count: 40))
        case .replacedByRename: bytes = Array(text.replacingOccurrences(of: "6.0", with: "7.0").utf8)
        }
        if change == .replacedByRename {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } else {
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(bytes))
            try handle.close()
        }
        do throws(ReplayError) {
            let result = try ReplayRun(plant: plant, recording: recording).run()
            #expect(change == .replacedByRename, "replayed a file that changed in place")
            #expect(Self.text(result.events) == Self.text(unchanged.events) && result.rowsRead == unchanged.rowsRead,
                    "the file it checked, still open, is what it replays")
        } catch {
            guard case .fileChanged(let file, let line) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(file == path && line >= 0)
            #expect(error.description.hasPrefix("\(path):\(line): the file changed while being replayed"))
            #expect(change != .replacedByRename)
        }
    }

    /// A file cut short while the replay is halfway through it: the next rows the replay needs are
    /// not there, and it stops with the file's name instead of reading past its end.
    @Test func aFileTruncatedWhileTheReplayRunsStopsItWithAnError() throws {
        let plant = try S.demoPlant()
        let text = String(decoding: try RecordingGenerator(plant: plant).csv(seconds: 1_800), as: UTF8.self)
        #expect(text.utf8.count > 4 * CSVRecordReader.defaultChunkBytes)
        let (directory, paths) = try Self.write([("a.csv", text)])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recording = try Recording.load(paths: paths, plant: plant, options: RecordingOptions())
        var merger = try RowMerger(recording: recording, sensorCount: plant.sensors.count, epochNanoseconds: ReplayRun.epochNanoseconds)
        var limit = recording.firstTime
        while limit < 600_000_000_000 {
            _ = try merger.advance(to: limit)
            limit += Self.period
        }
        let handle = try #require(FileHandle(forWritingAtPath: paths[0]))
        try handle.truncate(atOffset: UInt64(text.utf8.count / 2))
        try handle.close()
        do throws(ReplayError) {
            while limit <= recording.lastTime {
                _ = try merger.advance(to: limit)
                limit += Self.period
            }
            Issue.record("read to the end of a file cut in half")
        } catch {
            #expect(error.description.hasPrefix("\(paths[0]):"), "\(error)")
        }
        #expect(limit > 800_000_000_000 && limit < 1_000_000_000_000, "stopped where the file now ends, about 900 s in: \(limit)")
    }
}
