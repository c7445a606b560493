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
    /// Health words and group sensor names as bytes, once.
    private let healthWords: [[UInt8]]
    private let sensorNames: [[UInt8]]
    private static let severityWords = ["debug", "info", "warning", "alarm", "safety"]

    /// Creates the folder (and its parents) and its three streamed files for `run`.
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
        var health = [[UInt8]](repeating: Array("?".utf8), count: 8)
        for h in HealthState.allCases where Int(h.rawValue) < health.count { health[Int(h.rawValue)] = Array(h.description.utf8) }
        healthWords = health
        sensorNames = names.sensors.map { Array($0.utf8) }

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
            let elapsed = Int64(e.plantNanoseconds &- ReplayRun.epochNanoseconds)
            var seconds: [UInt8] = []
            DecimalFormat.appendSeconds(nanoseconds: elapsed, decimals: decimals, to: &seconds)
            let severity = Self.severityWords[min(Int(e.severity.rawValue), Self.severityWords.count - 1)]
            let sentence = describe.describe(e.event)
            let clock = isoStart.map { ISOTimestamp.text(nanoseconds: $0 + elapsed, decimals: decimals) }

            text.append(String(repeating: " ", count: max(0, 10 - seconds.count)))
            text.append(bytes: seconds)
            text.append(" s  ")
            if let clock { text.append(clock + "  ") }
            text.append("cycle \(e.cycle)  " + severity + String(repeating: " ", count: 8 - severity.count) + sentence + "\n")

            let row = codec.encode(e.event)
            var line = "{\"time_s\":" + String(decoding: seconds, as: UTF8.self)
            if let clock { line += ",\"recording_time\":\"\(clock)\"" }
            line += ",\"cycle\":\(e.cycle),\"severity\":\"\(severity)\",\"kind\":\"\(row.kindName)\""
            line += ",\"subject\":" + (row.subject.map(Self.jsonString) ?? "null")
            line += ",\"code\":\(row.code),\"value\":\(Self.jsonNumber(row.value)),\"value2\":\(Self.jsonNumber(row.value2))"
            line += ",\"detail\":" + (row.detail.map(Self.jsonString) ?? "null")
            line += ",\"text\":" + Self.jsonString(sentence) + "}\n"
            json.append(line)
        }
        try text.flushIfFull()
        try json.flushIfFull()
    }

    /// The plant's state after a step that brought rows.
    func state(atNanoseconds now: UInt64, run: ReplayRun) throws(ReplayError) {
        let kernel = run.kernel
        let elapsed = Int64(now &- ReplayRun.epochNanoseconds)
        let decimals = self.decimals
        let isoStart = self.isoStart
        let healthWords = self.healthWords
        let sensorNames = self.sensorNames
        state.appendFormatted { out in
            DecimalFormat.appendSeconds(nanoseconds: elapsed, decimals: decimals, to: &out)
            if let isoStart {
                out.append(UInt8(ascii: ","))
                var clock = ISOTimestamp.text(nanoseconds: isoStart + elapsed, decimals: decimals)
                clock.withUTF8 { out.append(contentsOf: $0) }
            }
            for i in 0..<kernel.sensorCount {
                out.append(UInt8(ascii: ","))
                let h = Int(kernel.health(sensor: i).rawValue)
                out.append(contentsOf: h < healthWords.count ? healthWords[h] : healthWords[0])
            }
            for g in 0..<kernel.groupCount {
                out.append(UInt8(ascii: ","))
                let active = kernel.activeSource(group: g)
                if active >= 0 && active < sensorNames.count { out.append(contentsOf: sensorNames[active]) }
            }
            guard let sections = kernel.sections else { return }
            for s in 0..<sections.count {
                if let status = sections.status(s) {
                    Self.appendStatistic(status.t2, status.t2Limit, open: status.t2Active, to: &out)
                    Self.appendStatistic(status.spe, status.speLimit, open: status.speActive, to: &out)
                } else {
                    let word = sections.failure(s) == nil ? ",,,learning" : ",,,failed"
                    for _ in 0..<2 { out.append(contentsOf: word.utf8) }
                }
            }
        }
        state.append(byte: UInt8(ascii: "\n"))
        try state.flushIfFull()
    }

    private static func appendStatistic(_ value: Double, _ limit: Double, open: Bool, to out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        DecimalFormat.append(value, to: &out)
        out.append(UInt8(ascii: ","))
        DecimalFormat.append(limit, to: &out)
        out.append(contentsOf: open ? Array(",open".utf8) : Array(",closed".utf8))
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

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// A JSON number: the shortest text that reads back exactly; null for NaN and infinities.
    static func jsonNumber(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
}
