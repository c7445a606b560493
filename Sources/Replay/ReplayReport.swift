import Foundation
import VigilCore
import Monitor
import Kernel

/// The files a replay streams while it runs, into one folder:
///
/// - `events.txt`: one line per event: plant seconds from the start (and the recording's own time
///   for ISO 8601 recordings), cycle, severity, the `EventText` sentence.
/// - `events.jsonl`: the same events as JSON lines with the journal's columns (`EventCodec`).
/// - `state.csv`: a row per step that brought input rows: each sensor's health, each group's
///   active source, each section's T², SPE, their limits and whether each finding is open
///   (`learning` before the section's model is live, `failed` if it could not be fitted).
public final class ReplayReport {
    public static let eventsText = "events.txt", eventsJSON = "events.jsonl", stateCSV = "state.csv"

    let directory: String
    private let text: OutputFile
    private let json: OutputFile
    private let state: OutputFile
    private let describe: EventText
    private let codec: EventCodec
    private let decimals: Int
    private let isoStart: Int64?
    /// Health words and sensor names (as CSV fields) as bytes, once.
    private let healthWords: [[UInt8]]
    private let sensorNames: [[UInt8]]
    private static let severityWords: [[UInt8]] = ["debug  ", "info   ", "warning", "alarm  ", "safety "].map { Array($0.utf8) }
    /// Each sensor's health and each group's active source, folded from the events as `PlantLedger`
    /// does (the kernel's events carry every change), so a state row reads arrays, not the monitor.
    private var health: [HealthState]
    private var activeSource: [Int32]

    /// Creates the folder (and its parents) and its three streamed files for `run` (before it runs).
    public init(directory: String, run: ReplayRun) throws(ReplayError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .output(path: directory, reason: "cannot create the folder (\(error.localizedDescription))")
        }
        text = try OutputFile(path: directory + "/" + Self.eventsText)
        json = try OutputFile(path: directory + "/" + Self.eventsJSON)
        state = try OutputFile(path: directory + "/" + Self.stateCSV)
        let names = run.kernel.names
        describe = EventText(names: names)
        codec = EventCodec(names: names)
        decimals = run.periodNanoseconds % 1_000_000 == 0 ? 3 : 6
        isoStart = run.recording.timeFormat == .iso8601 ? run.recording.firstTime : nil
        var words = [[UInt8]](repeating: Array("?".utf8), count: 8)
        for h in HealthState.allCases where Int(h.rawValue) < words.count { words[Int(h.rawValue)] = Array(h.description.utf8) }
        healthWords = words
        sensorNames = names.sensors.map { Array(CSVText.field($0).utf8) }
        health = Array(repeating: .healthy, count: run.kernel.sensorCount)
        activeSource = (0..<run.kernel.groupCount).map { Int32(run.kernel.activeSource(group: $0)) }

        var header = "time_s"
        if isoStart != nil { header += ",recording_time" }
        for s in run.plant.sensors { header += "," + CSVText.field(s.id + ".health") }
        for g in run.plant.redundancyGroups { header += "," + CSVText.field(g.id + ".source") }
        for s in run.plant.sections {
            for column in ["t2", "t2_limit", "t2_finding", "spe", "spe_limit", "spe_finding"] { header += "," + CSVText.field(s.id + "." + column) }
        }
        state.append(header + "\n")
    }

    /// A step's events, one line each in both event files.
    func events(_ events: ArraySlice<TimedEvent>, run: ReplayRun) throws(ReplayError) {
        for e in events {
            switch e.event {
            case .healthChanged(let sensor, _, let to) where Int(sensor) < health.count: health[Int(sensor)] = to
            case .failover(let group, _, let to, _) where Int(group) < activeSource.count: activeSource[Int(group)] = to
            case .failback(let group, _, let to) where Int(group) < activeSource.count: activeSource[Int(group)] = to
            default: break
            }
            let elapsed = Int64(e.plantNanoseconds &- ReplayRun.epochNanoseconds)
            var seconds = ScratchBytes(), clock = ScratchBytes(), cycle = ScratchBytes()
            DecimalFormat.putSeconds(nanoseconds: elapsed, decimals: decimals, into: &seconds)
            if let isoStart { ISOTimestamp.put(nanoseconds: isoStart + elapsed, decimals: decimals, into: &clock) }
            DecimalFormat.put(Int64(clamping: e.cycle), into: &cycle)
            let severity = Self.severityWords[min(Int(e.severity.rawValue), Self.severityWords.count - 1)]
            let sentence = describe.describe(e.event)
            let row = codec.encode(e.event)
            text.appendFormatted { out in
                for _ in seconds.count..<max(seconds.count, 10) { out.append(UInt8(ascii: " ")) }
                seconds.append(to: &out)
                out.append(contentsOf: " s  ".utf8)
                if isoStart != nil {
                    clock.append(to: &out)
                    out.append(contentsOf: "  ".utf8)
                }
                out.append(contentsOf: "cycle ".utf8)
                cycle.append(to: &out)
                out.append(contentsOf: "  ".utf8)
                out.append(contentsOf: severity)
                out.append(UInt8(ascii: " "))
                out.append(contentsOf: sentence.utf8)
                out.append(UInt8(ascii: "\n"))
            }
            json.appendFormatted { out in
                out.append(contentsOf: "{\"time_s\":".utf8)
                seconds.append(to: &out)
                if isoStart != nil {
                    out.append(contentsOf: ",\"recording_time\":\"".utf8)
                    clock.append(to: &out)
                    out.append(UInt8(ascii: "\""))
                }
                out.append(contentsOf: ",\"cycle\":".utf8)
                cycle.append(to: &out)
                out.append(contentsOf: ",\"severity\":\"".utf8)
                out.append(contentsOf: severity.prefix { $0 != UInt8(ascii: " ") })
                out.append(contentsOf: "\",\"kind\":".utf8)
                Self.appendJSONString(row.kindName, to: &out)
                out.append(contentsOf: ",\"subject\":".utf8)
                if let subject = row.subject { Self.appendJSONString(subject, to: &out) } else { out.append(contentsOf: "null".utf8) }
                out.append(contentsOf: ",\"code\":".utf8)
                DecimalFormat.append(Int64(row.code), to: &out)
                out.append(contentsOf: ",\"value\":".utf8)
                Self.appendJSONNumber(row.value, to: &out)
                out.append(contentsOf: ",\"value2\":".utf8)
                Self.appendJSONNumber(row.value2, to: &out)
                out.append(contentsOf: ",\"detail\":".utf8)
                if let detail = row.detail { Self.appendJSONString(detail, to: &out) } else { out.append(contentsOf: "null".utf8) }
                out.append(contentsOf: ",\"text\":".utf8)
                Self.appendJSONString(sentence, to: &out)
                out.append(contentsOf: "}\n".utf8)
            }
        }
        try text.flushIfFull()
        try json.flushIfFull()
    }

    /// The plant's state after a step that brought rows (after that step's `events`).
    func state(atNanoseconds now: UInt64, run: ReplayRun) throws(ReplayError) {
        let sections = run.kernel.sections
        var time = ScratchBytes()
        DecimalFormat.putSeconds(nanoseconds: Int64(now &- ReplayRun.epochNanoseconds), decimals: decimals, into: &time)
        if let isoStart {
            time.put(UInt8(ascii: ","))
            ISOTimestamp.put(nanoseconds: isoStart + Int64(now &- ReplayRun.epochNanoseconds), decimals: decimals, into: &time)
        }
        let healthWords = self.healthWords, sensorNames = self.sensorNames, health = self.health, activeSource = self.activeSource
        state.appendFormatted { out in
            time.append(to: &out)
            for h in health {
                out.append(UInt8(ascii: ","))
                let i = Int(h.rawValue)
                out.append(contentsOf: i < healthWords.count ? healthWords[i] : healthWords[0])
            }
            for active in activeSource {
                out.append(UInt8(ascii: ","))
                if active >= 0 && Int(active) < sensorNames.count { out.append(contentsOf: sensorNames[Int(active)]) }
            }
            if let sections {
                for s in 0..<sections.count {
                    if let status = sections.status(s) {
                        Self.appendStatistic(status.t2, status.t2Limit, open: status.t2Active, to: &out)
                        Self.appendStatistic(status.spe, status.speLimit, open: status.speActive, to: &out)
                    } else {
                        let word = sections.failure(s) == nil ? ",,,learning,,,learning" : ",,,failed,,,failed"
                        out.append(contentsOf: word.utf8)
                    }
                }
            }
            out.append(UInt8(ascii: "\n"))
        }
        try state.flushIfFull()
    }

    private static func appendStatistic(_ value: Double, _ limit: Double, open: Bool, to out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        DecimalFormat.append(value, to: &out)
        out.append(UInt8(ascii: ","))
        DecimalFormat.append(limit, to: &out)
        out.append(contentsOf: (open ? ",open" : ",closed").utf8)
    }

    public static let summaryJSON = "summary.json", plotSVG = "replay.svg"

    /// Writes what is still buffered, then `summary.json` and `replay.svg`.
    @discardableResult
    public func finish(run: ReplayRun, result: ReplayResult, readNanoseconds: UInt64) throws(ReplayError) -> ReplaySummary {
        try text.flush()
        try json.flush()
        try state.flush()
        let summary = ReplaySummary(run: run, result: result, readNanoseconds: readNanoseconds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let summaryPath = directory + "/" + Self.summaryJSON
        do {
            var data = try encoder.encode(summary)
            data.append(UInt8(ascii: "\n"))
            try data.write(to: URL(fileURLWithPath: summaryPath))
        } catch {
            throw .output(path: summaryPath, reason: "\(error)")
        }
        let plot = try OutputFile(path: directory + "/" + Self.plotSVG)
        plot.append(ReplayPlot.svg(run: run, result: result))
        try plot.flush()
        return summary
    }

    /// A JSON string: `"` and `\\` escaped, control characters as `\\u00XX`, everything else as is (UTF-8).
    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        defer { out.append(UInt8(ascii: "\"")) }
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: s.utf8)
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            default: out.append(b)
            }
        }
    }

    /// A JSON number: the shortest text that reads back exactly; null for NaN and infinities.
    static func appendJSONNumber(_ v: Double, to out: inout [UInt8]) {
        if v.isFinite { DecimalFormat.appendShortest(v, to: &out) } else { out.append(contentsOf: "null".utf8) }
    }
}
