import Foundation

/// A hand-written SVG of a run, readable also for long and dense runs: at the top a timeline with
/// one lane per kind of event (faults as bars, labelled once per distinct fault; detections,
/// diagnoses, failovers, repairs, alarms, interlock trips and safe state as marks); then one panel
/// per redundancy group (its sensors and the group's value) and per key sensor, fault windows
/// shaded; then one panel with every output, each in its own band. Traces are decimated to a few
/// thousand points (minimum and maximum per bucket) so a plant-day stays a small file; x in cycles.
public enum ScenarioPlot {
    static let width = 1140.0, left = 220.0, right = 200.0, top = 62.0, panelHeight = 140.0, gap = 44.0, laneHeight = 16.0
    static let palette = ["#1f77b4", "#2ca02c", "#ff7f0e", "#8c564b", "#17becf", "#bcbd22", "#e377c2", "#7f7f7f"]
    /// Points per trace at most (two per bucket: its minimum and maximum).
    static let maxPoints = 2400

    struct Series { var label: String; var color: String; var dashed: Bool; var values: [(UInt64, Double)] }
    struct Panel { var title: String; var series: [Series]; var limits: [(String, Double)] }
    struct Mark { var cycle: UInt64; var end: UInt64?; var label: String }
    struct Lane { var title: String; var kind: String; var color: String; var marks: [Mark] }

    public static func svg(_ result: ScenarioResult, scenario: Scenario) -> String {
        let plotWidth = width - left - right
        let lastCycle = max(result.cycles, result.samples.last?.cycle ?? 0, 1)
        func x(_ c: UInt64) -> Double { left + plotWidth * Double(min(c, lastCycle)) / Double(lastCycle) }
        let faultLanes = makeFaultLanes(result)
        let eventLanes = makeEventLanes(result)
        let lanes = faultLanes + eventLanes
        let panels = makePanels(result)
        let outputs = makeOutputs(result)
        let timelineHeight = Double(lanes.count) * laneHeight
        let outputsHeight = outputs.isEmpty ? 0 : Double(outputs.count) * 30 + 20 + gap
        let height = top + timelineHeight + gap + Double(panels.count) * (panelHeight + gap) + outputsHeight + 10

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">

        """
        out += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>\n"
        let verdict = result.status == .skipped ? "skipped" : "\(result.passedCount) passed, \(result.failedCount) failed"
        let clock = result.clock == .virtual ? "virtual time" : "real time"
        out += text(16, 22, "\(result.name) — \(result.cycles) cycles at \(format(result.periodMilliseconds)) ms, seed \(result.seed), \(clock) — \(verdict)",
                    size: 15, weight: "bold")
        out += text(16, 40, "What happened (hover a mark for its cycle and detail); then the sensors, groups and outputs, by cycle.", size: 10, color: "#555")

        // The timeline: one lane per fault and per kind of event.
        var y = top
        out += "<g class=\"timeline\">\n"
        for lane in lanes {
            out += "<rect x=\"\(f(left))\" y=\"\(f(y))\" width=\"\(f(plotWidth))\" height=\"\(f(laneHeight - 2))\" fill=\"#f6f6f6\"/>\n"
            let title = lane.title.count > 38 ? String(lane.title.prefix(37)) + "…" : lane.title
            out += text(left - 6, y + laneHeight - 5, title, anchor: "end", size: 10, color: lane.kind == "fault" ? "#a04040" : "#333")
            for m in lane.marks {
                let xa = x(m.cycle)
                if let end = m.end {
                    let cls = lane.kind == "fault" ? "fault-window" : "marker marker-\(lane.kind)"
                    out += "<rect class=\"\(cls)\" x=\"\(f(xa))\" y=\"\(f(y + 1))\" width=\"\(f(max(1.5, x(end) - xa)))\" height=\"\(f(laneHeight - 4))\" fill=\"\(lane.color)\" fill-opacity=\"0.6\"><title>\(escape(m.label))</title></rect>\n"
                } else {
                    out += "<line class=\"marker marker-\(lane.kind)\" x1=\"\(f(xa))\" y1=\"\(f(y + 1))\" x2=\"\(f(xa))\" y2=\"\(f(y + laneHeight - 3))\" stroke=\"\(lane.color)\" stroke-width=\"1.6\"><title>\(escape(m.label))</title></line>\n"
                }
            }
            let n = lane.marks.count
            if lane.kind != "fault" {
                out += text(left + plotWidth + 6, y + laneHeight - 5, n == 1 ? "1" : "\(n)", size: 9, color: "#777")
            }
            y += laneHeight
        }
        if lanes.isEmpty { out += text(left, y + 12, "no faults and no events", size: 10, color: "#777") }
        axis(&out, y: y + 2, lastCycle: lastCycle, x: x)
        out += "</g>\n"
        y += gap

        let faultWindows = result.injected.map { ($0.startCycle, $0.endCycle ?? lastCycle, "\($0.kind) \($0.target)") }
        for (p, panel) in panels.enumerated() {
            let y0 = y, y1 = y0 + panelHeight
            var lo = Double.infinity, hi = -Double.infinity
            for s in panel.series { for (_, v) in s.values where v.isFinite { lo = min(lo, v); hi = max(hi, v) } }
            for (_, v) in panel.limits where v >= lo - (hi - lo) && v <= hi + (hi - lo) { lo = min(lo, v); hi = max(hi, v) }
            if !lo.isFinite { lo = 0; hi = 1 }
            if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
            let pad = (hi - lo) * 0.08
            lo -= pad; hi += pad
            func yv(_ v: Double) -> Double { y1 - panelHeight * (min(max(v, lo), hi) - lo) / (hi - lo) }

            out += "<g class=\"panel\" id=\"panel-\(p)\">\n"
            out += text(left, y0 - 8, panel.title, size: 12, weight: "bold")
            out += "<rect x=\"\(f(left))\" y=\"\(f(y0))\" width=\"\(f(plotWidth))\" height=\"\(f(panelHeight))\" fill=\"none\" stroke=\"#888\"/>\n"
            for (a, b, label) in faultWindows {
                out += "<rect class=\"fault-window\" x=\"\(f(x(a)))\" y=\"\(f(y0))\" width=\"\(f(max(1.5, x(b) - x(a))))\" height=\"\(f(panelHeight))\" fill=\"#e8a0a0\" fill-opacity=\"0.25\"><title>\(escape(label))</title></rect>\n"
            }
            for i in 0...4 {
                let v = lo + (hi - lo) * Double(i) / 4
                out += "<line x1=\"\(f(left - 4))\" y1=\"\(f(yv(v)))\" x2=\"\(f(left))\" y2=\"\(f(yv(v)))\" stroke=\"#888\"/>\n"
                out += text(left - 6, yv(v) + 4, format(v), anchor: "end", size: 9)
            }
            axis(&out, y: y1, lastCycle: lastCycle, x: x)
            for (label, v) in panel.limits where v >= lo && v <= hi {
                out += "<line class=\"limit\" x1=\"\(f(left))\" y1=\"\(f(yv(v)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(yv(v)))\" stroke=\"#999\" stroke-dasharray=\"6,4\"/>\n"
                out += text(left + plotWidth - 4, yv(v) - 3, label, anchor: "end", size: 9, color: "#666")
            }
            for s in panel.series {
                for run in runs(decimate(s.values)) {
                    let points = run.map { "\(f(x($0.0))),\(f(yv($0.1)))" }.joined(separator: " ")
                    out += "<polyline class=\"trace\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(s.dashed ? 1.8 : 1.1)\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "") points=\"\(points)\"/>\n"
                }
            }
            for (i, s) in panel.series.enumerated() {
                let ly = y0 + 12 + Double(i) * 15
                out += "<line x1=\"\(f(left + plotWidth + 10))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + plotWidth + 28))\" y2=\"\(f(ly - 4))\" stroke=\"\(s.color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "")/>\n"
                out += text(left + plotWidth + 32, ly, s.label)
            }
            out += "</g>\n"
            y += panelHeight + gap
        }

        // Outputs: one band each, scaled to its own range (a logic-analyser view).
        if !outputs.isEmpty {
            let band = 30.0
            out += "<g class=\"panel outputs\">\n"
            out += text(left, y - 8, "outputs (each scaled to its own range)", size: 12, weight: "bold")
            for (k, o) in outputs.enumerated() {
                let b0 = y + Double(k) * band, b1 = b0 + band - 6
                out += "<rect x=\"\(f(left))\" y=\"\(f(b0))\" width=\"\(f(plotWidth))\" height=\"\(f(band - 6))\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n"
                let finite = o.values.map(\.1).filter(\.isFinite)
                let lo = finite.min() ?? 0, hi = finite.max() ?? 1
                let span = hi - lo < 1e-9 ? 1 : hi - lo
                func yo(_ v: Double) -> Double { b1 - 2 - (band - 10) * (v - lo) / span }
                for run in runs(decimate(o.values)) {
                    var points: [String] = []
                    var previous: Double?
                    for (c, v) in run {
                        if let p = previous, p != v { points.append("\(f(x(c))),\(f(yo(p)))") } // steps, not slopes
                        points.append("\(f(x(c))),\(f(yo(v)))")
                        previous = v
                    }
                    out += "<polyline class=\"trace output\" fill=\"none\" stroke=\"\(o.color)\" stroke-width=\"1.3\" points=\"\(points.joined(separator: " "))\"/>\n"
                }
                out += text(left - 6, b0 + 15, o.label, anchor: "end", size: 10)
                out += text(left + plotWidth + 6, b0 + 15, lo == hi ? format(lo) : "\(format(lo))…\(format(hi))", size: 9, color: "#666")
            }
            let end = y + Double(outputs.count) * band
            axis(&out, y: end - 4, lastCycle: lastCycle, x: x)
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Tick marks and labels of the cycle axis under a block ending at `y`.
    static func axis(_ out: inout String, y: Double, lastCycle: UInt64, x: (UInt64) -> Double) {
        for c in ticks(lastCycle) {
            out += "<line x1=\"\(f(x(c)))\" y1=\"\(f(y))\" x2=\"\(f(x(c)))\" y2=\"\(f(y + 4))\" stroke=\"#888\"/>\n"
            out += text(x(c), y + 15, "\(c)", anchor: "middle", size: 9)
        }
        out += text(width - right, y + 28, "cycle", anchor: "end", size: 10)
    }

    /// One lane per distinct fault (target and kind), its windows as bars, labelled once.
    static func makeFaultLanes(_ r: ScenarioResult) -> [Lane] {
        var lanes: [Lane] = []
        let last = max(r.cycles, 1)
        for inj in r.injected {
            let title = "\(inj.kind) \(inj.target)"
            let mark = Mark(cycle: inj.startCycle, end: max(inj.endCycle ?? last, inj.startCycle + 1),
                            label: "\(title): cycles \(inj.startCycle)–\(inj.endCycle.map(String.init) ?? "end")")
            if let i = lanes.firstIndex(where: { $0.title == title || $0.title.hasPrefix(title + " ×") }) {
                lanes[i].marks.append(mark)
                lanes[i].title = "\(title) ×\(lanes[i].marks.count)"
            } else {
                lanes.append(Lane(title: title, kind: "fault", color: "#d98080", marks: [mark]))
            }
        }
        return lanes
    }

    /// One lane per kind of event that happened (after start-up for interlocks and safe states).
    static func makeEventLanes(_ r: ScenarioResult) -> [Lane] {
        let settled = r.firstGoodCycle ?? 0
        var lanes: [Lane] = []
        func add(_ title: String, _ kind: String, _ color: String, _ marks: [Mark]) {
            if !marks.isEmpty { lanes.append(Lane(title: title, kind: kind, color: color, marks: marks)) }
        }
        add("detections", "detection", "#e67e22", r.detections.map { Mark(cycle: $0.cycle, end: nil, label: "cycle \($0.cycle): \($0.kind) on \($0.sensor) (\(format($0.statistic)) / \(format($0.threshold)))") })
        add("diagnoses", "diagnosis", "#8c564b", r.diagnoses.map { Mark(cycle: $0.cycle, end: nil, label: "cycle \($0.cycle): \($0.cause) about \($0.target) (\($0.evidence))") })
        add("failovers", "failover", "#1f77b4", r.failovers.map { Mark(cycle: $0.cycle, end: nil, label: "cycle \($0.cycle): \($0.group) \($0.from) → \($0.to)") })
        add("repairs", "repair", "#2ca02c", r.repairs.map { Mark(cycle: $0.cycle, end: nil, label: "cycle \($0.cycle): \($0.strategy) on \($0.target)\($0.verified ? ", verified" : "")") })
        add("escalations", "escalation", "#d62728", r.escalations.map { Mark(cycle: $0.cycle, end: nil, label: "cycle \($0.cycle): escalation about \($0.target) (\($0.reason))") })
        add("alarms", "alarm", "#ff0000", r.alarms.map { Mark(cycle: $0.cycle, end: nil, label: "cycle \($0.cycle): alarm #\($0.id) \($0.target) (\($0.priority))") })
        // Interlocks as bars from trip to clear.
        var trips: [Mark] = []
        for t in r.interlocks where t.tripped && t.cycle >= settled {
            let clear = r.interlocks.first { !$0.tripped && $0.id == t.id && $0.cycle > t.cycle }?.cycle
            trips.append(Mark(cycle: t.cycle, end: clear ?? max(r.cycles, t.cycle + 1), label: "cycle \(t.cycle): interlock \(t.id) tripped (\(format(t.value)))"
                              + (clear.map { ", cleared at \($0)" } ?? "")))
        }
        add("interlock trips", "interlock", "#9467bd", trips)
        var safe: [Mark] = []
        for s in r.safeStates where s.entered && s.reason != "startup" && s.reason != "shutdown" {
            let left = r.safeStates.first { !$0.entered && $0.reason == s.reason && $0.cycle > s.cycle }?.cycle
            safe.append(Mark(cycle: s.cycle, end: left ?? max(r.cycles, s.cycle + 1), label: "cycle \(s.cycle): safe state (\(s.reason))"))
        }
        add("safe state", "safe-state", "#000000", safe)
        return lanes
    }

    static func makePanels(_ r: ScenarioResult) -> [Panel] {
        func trace(_ sensor: String) -> [(UInt64, Double)] {
            guard let i = r.sensorIDs.firstIndex(of: sensor) else { return [] }
            return r.samples.map { ($0.cycle, $0.sensors[i]) }
        }
        func limits(_ subject: String) -> [(String, Double)] {
            r.limitLines.filter { $0.subject == subject }.map { ($0.label, $0.level) }
        }
        var panels: [Panel] = []
        for (g, group) in r.groups.enumerated() {
            var series = group.members.enumerated().map { Series(label: $1, color: palette[$0 % palette.count], dashed: false, values: trace($1)) }
            series.append(Series(label: "\(group.id) (group)", color: "#000000", dashed: true,
                                 values: r.samples.map { ($0.cycle, g < $0.groupValues.count ? $0.groupValues[g] : .nan) }))
            panels.append(Panel(title: "group \(group.id)", series: series, limits: limits(group.id)))
        }
        for s in r.keySensors {
            panels.append(Panel(title: "sensor \(s)", series: [Series(label: s, color: palette[0], dashed: false, values: trace(s))], limits: limits(s)))
        }
        return panels
    }

    /// Every output that has samples, each its own band.
    static func makeOutputs(_ r: ScenarioResult) -> [Series] {
        r.outputIDs.enumerated().compactMap { i, id in
            let values = r.samples.compactMap { s in i < s.outputs.count ? (s.cycle, s.outputs[i]) : nil }
            return values.isEmpty ? nil : Series(label: id, color: palette[(i + 3) % palette.count], dashed: false, values: values)
        }
    }

    /// At most `maxPoints` points: per bucket its first, minimum and maximum in time order, so spikes
    /// and steps survive; NaN (an unusable reading) is kept so gaps stay gaps.
    static func decimate(_ values: [(UInt64, Double)]) -> [(UInt64, Double)] {
        guard values.count > maxPoints else { return values }
        let buckets = maxPoints / 2
        let size = (values.count + buckets - 1) / buckets
        var out: [(UInt64, Double)] = []
        out.reserveCapacity(maxPoints + 2)
        var i = 0
        while i < values.count {
            let bucket = values[i..<min(i + size, values.count)]
            if let gap = bucket.first(where: { !$0.1.isFinite }) { out.append(gap) }
            let finite = bucket.filter { $0.1.isFinite }
            if let lo = finite.min(by: { $0.1 < $1.1 }), let hi = finite.max(by: { $0.1 < $1.1 }) {
                if lo.0 <= hi.0 { out.append(lo); if hi.0 != lo.0 { out.append(hi) } } else { out.append(hi); out.append(lo) }
            }
            i += size
        }
        return out
    }

    /// Splits a trace where a reading was unusable.
    static func runs(_ values: [(UInt64, Double)]) -> [[(UInt64, Double)]] {
        var runs: [[(UInt64, Double)]] = [[]]
        for point in values {
            if point.1.isFinite { runs[runs.count - 1].append(point) } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
        }
        return runs.filter { !$0.isEmpty }
    }

    static func ticks(_ last: UInt64) -> [UInt64] {
        let raw = Double(last) / 6
        let magnitude = pow(10, floor(log10(max(raw, 1))))
        let step = UInt64([1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude)
        return Array(stride(from: 0, through: last, by: Int(max(step, 1)))).map { UInt64($0) }
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", size: Double = 11, weight: String? = nil,
                     color: String = "#222") -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" font-size=\"\(format(size))\" fill=\"\(color)\"\(weight.map { " font-weight=\"\($0)\"" } ?? "")>\(escape(s))</text>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
