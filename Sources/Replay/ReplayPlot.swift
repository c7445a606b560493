import VigilCore
import Monitor
import Kernel

/// `replay.svg`: one panel per fed sensor (its recorded trace; open findings shaded, the time it
/// was out of use as a red band, detections as ticks on top), one per section (T² and SPE over
/// their limits), and one lane of events coloured by severity; x is plant time from the start.
/// Each trace is thinned to `buckets` time buckets (lowest and highest value of each), event
/// marks to one per pixel column, so a day of 10 ms cycles draws as fast as a minute.
public enum ReplayPlot {
    public static let buckets = 1500
    static let width = 1200.0, left = 120.0, right = 24.0, top = 64.0, panelHeight = 58.0, gap = 12.0, laneHeight = 36.0
    static var plotWidth: Double { width - left - right }

    static let findingColor = "#f5a623", outOfUseColor = "#d0021b", traceColor = "#1f5fa8", speColor = "#c2185b"
    static let severityColors: [EventSeverity: String] = [.info: "#9b9b9b", .warning: "#f5a623", .alarm: "#d0021b", .safety: "#7b1fa2"]

    public static func svg(run: ReplayRun, result: ReplayResult) -> String {
        let span = max(1, Int64(result.plantNanoseconds))
        let names = run.kernel.names
        let fedSensors = run.plant.sensors.indices.filter { i in run.recording.files.contains { $0.feeds.contains { $0.sensor == i } } }
        let panels = fedSensors.count + run.plant.sections.count
        let height = top + Double(panels) * (panelHeight + gap) + laneHeight + 48
        func x(_ t: Int64) -> Double { left + plotWidth * min(1, max(0, Double(t) / Double(span))) }

        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>\n"
        let period = DecimalFormat.text(Double(run.periodNanoseconds) / 1e6)
        var title = "replay of \(run.plant.name): \(result.rowsRead) rows, \(result.steps) steps of \(period) ms, \(timeLabel(Double(span) / 1e9)) of plant time"
        if run.recording.timeFormat == .iso8601 { title += " from " + ISOTimestamp.text(nanoseconds: run.recording.firstTime, decimals: 0) }
        out += text(left, 22, title, size: 14, weight: "bold")
        var lx = left
        for (label, color, opacity) in [("open finding", findingColor, 0.35), ("out of use (faulty, quarantined, probation)", outOfUseColor, 0.8)] {
            out += "<rect x=\"\(f(lx))\" y=\"34\" width=\"14\" height=\"10\" fill=\"\(color)\" fill-opacity=\"\(opacity)\"/>\n"
            out += text(lx + 18, 43, label)
            lx += 34 + Double(label.count) * 6
        }
        out += "<line x1=\"\(f(lx + 7))\" y1=\"32\" x2=\"\(f(lx + 7))\" y2=\"46\" stroke=\"#000\" stroke-width=\"1.5\"/>\n"
        out += text(lx + 14, 43, "detection")

        let intervals = Intervals(events: result.events, end: span)
        let ticks = timeTicks(span)
        var panel = 0
        func frame(_ y0: Double, _ label: String, _ lo: Double, _ hi: Double) -> String {
            var s = "<rect x=\"\(f(left))\" y=\"\(f(y0))\" width=\"\(f(plotWidth))\" height=\"\(f(panelHeight))\" fill=\"none\" stroke=\"#999\"/>\n"
            for t in ticks { s += "<line x1=\"\(f(x(t.0)))\" y1=\"\(f(y0))\" x2=\"\(f(x(t.0)))\" y2=\"\(f(y0 + panelHeight))\" stroke=\"#eee\"/>\n" }
            s += text(left - 8, y0 + panelHeight / 2 + 4, label, anchor: "end", size: 11, weight: "bold")
            s += text(left - 8, y0 + 10, DecimalFormat.text(hi, significant: 4), anchor: "end", size: 9, color: "#666")
            s += text(left - 8, y0 + panelHeight - 2, DecimalFormat.text(lo, significant: 4), anchor: "end", size: 9, color: "#666")
            return s
        }
        func polylines(_ trace: TraceDecimator, y0: Double, lo: Double, hi: Double, color: String) -> String {
            func y(_ v: Double) -> Double { y0 + panelHeight - 3 - (panelHeight - 6) * (v - lo) / (hi - lo) }
            var s = ""
            for run in trace.runs(gapBuckets: trace.typicalGapBuckets) {
                var points: [UInt8] = []
                points.reserveCapacity(run.count * 12)
                for (k, p) in run.enumerated() {
                    var c = ScratchBytes()
                    if k > 0 { c.put(UInt8(ascii: " ")) }
                    _ = DecimalFormat.putFixed(x(p.0), decimals: 1, into: &c)
                    c.put(UInt8(ascii: ","))
                    _ = DecimalFormat.putFixed(y(p.1), decimals: 1, into: &c)
                    c.append(to: &points)
                }
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1\" points=\"" + String(decoding: points, as: UTF8.self) + "\"/>\n"
            }
            return s
        }

        for sensor in fedSensors {
            let y0 = top + Double(panel) * (panelHeight + gap)
            panel += 1
            let trace = result.sensorTraces[sensor] ?? TraceDecimator(buckets: buckets, span: span)
            var (lo, hi) = trace.range ?? (0, 1)
            if hi - lo < 1e-9 { (lo, hi) = (lo - 0.5, hi + 0.5) }
            let name = names.name(.sensor, Int32(sensor))
            out += "<g class=\"sensor\" id=\"sensor-\(escape(name))\">\n"
            out += frame(y0, name, lo, hi)
            for (a, b, what) in merged(intervals.findings[Int32(sensor)] ?? [], x: x, label: findingLabel) {
                out += "<rect x=\"\(f(a))\" y=\"\(f(y0))\" width=\"\(f(max(1, b - a)))\" height=\"\(f(panelHeight))\" fill=\"\(findingColor)\" fill-opacity=\"0.35\"><title>\(escape(what))</title></rect>\n"
            }
            for (a, b, what) in merged(intervals.outOfUse[Int32(sensor)] ?? [], x: x, label: outOfUseLabel) {
                out += "<rect x=\"\(f(a))\" y=\"\(f(y0 + panelHeight - 5))\" width=\"\(f(max(1, b - a)))\" height=\"5\" fill=\"\(outOfUseColor)\" fill-opacity=\"0.8\"><title>\(escape(what))</title></rect>\n"
            }
            out += polylines(trace, y0: y0, lo: lo, hi: hi, color: traceColor)
            var lastColumn = -1
            for (t, kind) in intervals.detections[Int32(sensor)] ?? [] {
                let column = Int(x(t))
                guard column != lastColumn else { continue }
                lastColumn = column
                let what = "detection: \(EventText.finding(kind)) at \(timeLabel(Double(t) / 1e9, step: 1))"
                out += "<line x1=\"\(f(x(t)))\" y1=\"\(f(y0))\" x2=\"\(f(x(t)))\" y2=\"\(f(y0 + 9))\" stroke=\"#000\" stroke-width=\"1.5\"><title>\(escape(what))</title></line>\n"
            }
            out += "</g>\n"
        }

        for (s, section) in run.plant.sections.enumerated() {
            let y0 = top + Double(panel) * (panelHeight + gap)
            panel += 1
            let traces = s < result.sectionTraces.count ? result.sectionTraces[s] : nil
            let hi = max(2, traces.flatMap { t in [t.t2.range?.high, t.spe.range?.high].compactMap { $0 }.max() } ?? 2)
            func y(_ v: Double) -> Double { y0 + panelHeight - 3 - (panelHeight - 6) * v / hi }
            out += "<g class=\"section\" id=\"section-\(escape(section.id))\">\n"
            out += frame(y0, section.id + " T²/SPE", 0, hi)
            for (a, b, what) in merged(intervals.sectionFindings[Int32(s)] ?? [], x: x, label: findingLabel) {
                out += "<rect x=\"\(f(a))\" y=\"\(f(y0))\" width=\"\(f(max(1, b - a)))\" height=\"\(f(panelHeight))\" fill=\"\(findingColor)\" fill-opacity=\"0.35\"><title>\(escape(what))</title></rect>\n"
            }
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y(1)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y(1)))\" stroke=\"#666\" stroke-dasharray=\"5,3\"/>\n"
            out += text(left + plotWidth - 4, y(1) - 3, "limit", anchor: "end", size: 9, color: "#666")
            if let traces {
                out += polylines(traces.t2, y0: y0, lo: 0, hi: hi, color: traceColor)
                out += polylines(traces.spe, y0: y0, lo: 0, hi: hi, color: speColor)
            }
            out += text(left + 6, y0 + 11, "T²/limit", size: 9, color: traceColor)
            out += text(left + 60, y0 + 11, "SPE/limit", size: 9, color: speColor)
            out += "</g>\n"
        }

        // The events lane: per pixel column the most severe event (debug events left out).
        let laneTop = top + Double(panel) * (panelHeight + gap)
        out += "<g class=\"events\">\n"
        out += "<rect x=\"\(f(left))\" y=\"\(f(laneTop))\" width=\"\(f(plotWidth))\" height=\"\(f(laneHeight))\" fill=\"none\" stroke=\"#999\"/>\n"
        out += text(left - 8, laneTop + laneHeight / 2 + 4, "events", anchor: "end", size: 11, weight: "bold")
        var columns: [Int: (severity: EventSeverity, count: Int, first: String)] = [:]
        let sentences = EventText(names: names)
        for e in result.events where e.severity > .debug {
            let column = Int(x(Int64(e.plantNanoseconds &- ReplayRun.epochNanoseconds)))
            if let c = columns[column] {
                columns[column] = (max(c.severity, e.severity), c.count + 1, e.severity > c.severity ? sentences.describe(e.event) : c.first)
            } else {
                columns[column] = (e.severity, 1, sentences.describe(e.event))
            }
        }
        for column in columns.keys.sorted() {
            let c = columns[column]!
            let level = Double(c.severity.rawValue) / 4
            let y1 = laneTop + laneHeight - 2, y0 = y1 - (laneHeight - 6) * level
            let more = c.count > 1 ? " (+\(c.count - 1) more here)" : ""
            out += "<line x1=\"\(column)\" y1=\"\(f(y0))\" x2=\"\(column)\" y2=\"\(f(y1))\" stroke=\"\(severityColors[c.severity] ?? "#999")\" stroke-width=\"1.5\"><title>\(escape(c.first + more))</title></line>\n"
        }
        var ex = left
        for severity in [EventSeverity.info, .warning, .alarm, .safety] {
            out += "<rect x=\"\(f(ex))\" y=\"\(f(laneTop + laneHeight + 30))\" width=\"10\" height=\"10\" fill=\"\(severityColors[severity]!)\"/>\n"
            out += text(ex + 14, laneTop + laneHeight + 39, "\(severity)")
            ex += 80
        }
        out += "</g>\n"

        // The time axis.
        for (t, label) in ticks {
            out += "<line x1=\"\(f(x(t)))\" y1=\"\(f(laneTop + laneHeight))\" x2=\"\(f(x(t)))\" y2=\"\(f(laneTop + laneHeight + 4))\" stroke=\"#666\"/>\n"
            out += text(x(t), laneTop + laneHeight + 16, label, anchor: "middle", size: 9)
        }
        out += text(left + plotWidth, laneTop + laneHeight + 39, "plant time from the start", anchor: "end", size: 10)
        return out + "</svg>\n"
    }

    /// Spans in pixels, neighbours closer than a pixel merged; each titled with up to three of its
    /// spans' labels (in time order, so the same on every run).
    static func merged(_ spans: [Intervals.Span], x: (Int64) -> Double, label: (Intervals.Span) -> String) -> [(Double, Double, String)] {
        var result: [(Double, Double, String)] = []
        var counts: [Int] = []
        for span in spans.sorted(by: { ($0.start, $0.end, $0.code) < ($1.start, $1.end, $1.code) }) {
            let xa = x(span.start), xb = x(span.end)
            if let last = result.last, xa <= last.1 + 1 {
                counts[counts.count - 1] += 1
                let n = counts[counts.count - 1]
                let title = n <= 3 ? last.2 + "; " + label(span) : n == 4 ? last.2 + "; …" : last.2
                result[result.count - 1] = (last.0, max(last.1, xb), title)
            } else {
                result.append((xa, xb, label(span)))
                counts.append(1)
            }
        }
        return result
    }

    static func findingLabel(_ span: Intervals.Span) -> String {
        let kind = FindingKind(rawValue: span.code).map(EventText.finding) ?? "finding"
        return "\(kind) \(timeLabel(Double(span.start) / 1e9, step: 1))–\(timeLabel(Double(span.end) / 1e9, step: 1))"
    }

    static func outOfUseLabel(_ span: Intervals.Span) -> String {
        let state = HealthState(rawValue: span.code).map { "\($0)" } ?? "out of use"
        return "out of use (\(state)) \(timeLabel(Double(span.start) / 1e9, step: 1))–\(timeLabel(Double(span.end) / 1e9, step: 1))"
    }

    /// Tick times with labels: about eight over the span, at round seconds, minutes or hours.
    static func timeTicks(_ span: Int64) -> [(Int64, String)] {
        let seconds = Double(span) / 1e9
        let steps: [Double] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400]
        let step = steps.first { seconds / $0 <= 8 } ?? (seconds / 8).rounded(.up)
        var ticks: [(Int64, String)] = []
        var k = 0.0
        while k * step <= seconds + 1e-9 {
            ticks.append((Int64(k * step * 1e9), timeLabel(k * step, step: step)))
            k += 1
        }
        return ticks
    }

    /// `90 s`, `12 min`, `3 h`, `1.5 h` (or the unit the tick step asks for).
    static func timeLabel(_ seconds: Double, step: Double? = nil) -> String {
        let unit = step ?? seconds
        if unit < 60 { return DecimalFormat.text(seconds, significant: 6) + " s" }
        if unit < 3600 { return DecimalFormat.text(seconds / 60, significant: 6) + " min" }
        return DecimalFormat.text(seconds / 3600, significant: 6) + " h"
    }

    /// One decimal, the same everywhere.
    static func f(_ v: Double) -> String {
        var s = ScratchBytes()
        _ = DecimalFormat.putFixed(v, decimals: 1, into: &s)
        return s.string
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", size: Double = 11, weight: String? = nil,
                     color: String = "#222") -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" font-size=\"\(f(size))\" fill=\"\(color)\"\(weight.map { " font-weight=\"\($0)\"" } ?? "")>\(escape(s))</text>\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// Where findings were open and sensors out of use, from a run's events (times from the start).
/// Kept as numbers; the plot names only what it draws.
struct Intervals {
    struct Span: Hashable {
        var start: Int64
        var end: Int64
        /// The finding kind's raw value, or the health state's for out-of-use spans.
        var code: Int32
    }
    var findings: [Int32: [Span]] = [:]
    var sectionFindings: [Int32: [Span]] = [:]
    var outOfUse: [Int32: [Span]] = [:]
    var detections: [Int32: [(Int64, FindingKind)]] = [:]

    init(events: [TimedEvent], end: Int64) {
        var openFindings: [FindingKey: Int64] = [:]
        var outSince: [Int32: (Int64, HealthState)] = [:]
        for e in events {
            let t = Int64(e.plantNanoseconds &- ReplayRun.epochNanoseconds)
            switch e.event {
            case .findingRaised(let subject, let kind, _, _):
                openFindings[FindingKey(subject: subject, kind: kind)] = t
                if case .sensor(let i) = subject { detections[i, default: []].append((t, kind)) }
            case .findingCleared(let subject, let kind):
                if let start = openFindings.removeValue(forKey: FindingKey(subject: subject, kind: kind)) { close(subject, kind, start, t) }
            case .healthChanged(let sensor, _, let to):
                let out = to == .faulty || to == .quarantined || to == .probation
                if out, outSince[sensor] == nil {
                    outSince[sensor] = (t, to)
                } else if !out, let (start, state) = outSince.removeValue(forKey: sensor) {
                    outOfUse[sensor, default: []].append(Span(start: start, end: t, code: state.rawValue))
                }
            default: break
            }
        }
        for (key, start) in openFindings { close(key.subject, key.kind, start, end) }
        for (sensor, (start, state)) in outSince { outOfUse[sensor, default: []].append(Span(start: start, end: end, code: state.rawValue)) }
    }

    private mutating func close(_ subject: FindingSubject, _ kind: FindingKind, _ start: Int64, _ end: Int64) {
        let span = Span(start: start, end: end, code: kind.rawValue)
        switch subject {
        case .sensor(let i): findings[i, default: []].append(span)
        case .section(let i): sectionFindings[i, default: []].append(span)
        case .device: break
        }
    }

    struct FindingKey: Hashable {
        var subject: FindingSubject
        var kind: FindingKind
    }
}
