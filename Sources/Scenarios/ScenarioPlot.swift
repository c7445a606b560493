import Foundation

/// A hand-written SVG of a run: one panel per redundancy group (its sensors and the group's
/// value) and per key sensor, fault windows shaded, vertical markers for detections, failovers,
/// escalations, interlock trips and safe-state entries; x in cycles.
public enum ScenarioPlot {
    static let width = 1000.0, left = 70.0, right = 190.0, top = 70.0, panelHeight = 150.0, gap = 46.0
    static let palette = ["#1f77b4", "#2ca02c", "#ff7f0e", "#8c564b", "#17becf", "#bcbd22"]

    struct Series { var label: String; var color: String; var dashed: Bool; var values: [(UInt64, Double)] }
    struct Panel { var title: String; var unitHint: String; var series: [Series]; var limits: [(String, Double)] }
    struct Marker { var cycle: UInt64; var kind: String; var color: String; var dash: String?; var label: String }

    public static func svg(_ result: ScenarioResult, scenario: Scenario) -> String {
        let panels = makePanels(result, scenario: scenario)
        let plotWidth = width - left - right
        let height = top + Double(max(panels.count, 1)) * (panelHeight + gap) + 20
        let lastCycle = max(result.cycles, result.samples.last?.cycle ?? 0, 1)
        func x(_ c: UInt64) -> Double { left + plotWidth * Double(min(c, lastCycle)) / Double(lastCycle) }

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">

        """
        out += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>\n"
        let verdict = result.status == .skipped ? "skipped" : "\(result.passedCount) passed, \(result.failedCount) failed"
        out += text(left, 22, "\(result.name) — \(result.cycles) cycles at \(format(result.periodMilliseconds)) ms, seed \(result.seed) — \(verdict)",
                    size: 15, weight: "bold")
        // Marker legend.
        var lx = left
        for (label, color, dash) in [("fault window", "#e8a0a0", nil), ("detection", "#e67e22", nil), ("failover", "#1f77b4", nil),
                                     ("escalation", "#d62728", nil), ("interlock trip", "#9467bd", "4,3"), ("safe state", "#000000", "1,3")] as [(String, String, String?)] {
            if label == "fault window" {
                out += "<rect x=\"\(f(lx))\" y=\"36\" width=\"14\" height=\"10\" fill=\"\(color)\" fill-opacity=\"0.5\"/>\n"
            } else {
                out += "<line x1=\"\(f(lx + 7))\" y1=\"34\" x2=\"\(f(lx + 7))\" y2=\"48\" stroke=\"\(color)\" stroke-width=\"2\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>\n"
            }
            out += text(lx + 18, 45, label)
            lx += 30 + Double(label.count) * 6.5
        }

        let markers = makeMarkers(result)
        for (p, panel) in panels.enumerated() {
            let y0 = top + Double(p) * (panelHeight + gap)
            let y1 = y0 + panelHeight
            var lo = Double.infinity, hi = -Double.infinity
            for s in panel.series { for (_, v) in s.values where v.isFinite { lo = min(lo, v); hi = max(hi, v) } }
            for (_, v) in panel.limits { lo = min(lo, v); hi = max(hi, v) }
            if !lo.isFinite { lo = 0; hi = 1 }
            if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
            let pad = (hi - lo) * 0.08
            lo -= pad; hi += pad
            func y(_ v: Double) -> Double { y1 - panelHeight * (v - lo) / (hi - lo) }

            out += "<g class=\"panel\" id=\"panel-\(p)\">\n"
            out += text(left, y0 - 8, panel.title + panel.unitHint, size: 12, weight: "bold")
            out += "<rect x=\"\(f(left))\" y=\"\(f(y0))\" width=\"\(f(plotWidth))\" height=\"\(f(panelHeight))\" fill=\"none\" stroke=\"#888\"/>\n"
            // Fault windows.
            for inj in result.injected {
                let xa = x(inj.startCycle), xb = x(inj.endCycle ?? lastCycle)
                out += "<rect class=\"fault-window\" x=\"\(f(xa))\" y=\"\(f(y0))\" width=\"\(f(max(1.5, xb - xa)))\" height=\"\(f(panelHeight))\" fill=\"#e8a0a0\" fill-opacity=\"0.35\"><title>\(escape("\(inj.kind) \(inj.target), cycles \(inj.startCycle)–\(inj.endCycle.map(String.init) ?? "end")"))</title></rect>\n"
                out += text(xa + 2, y0 + 11, "\(inj.kind) \(inj.target)", size: 9, color: "#a04040")
            }
            // Axes: y ticks and x ticks.
            for i in 0...4 {
                let v = lo + (hi - lo) * Double(i) / 4
                out += "<line x1=\"\(f(left - 4))\" y1=\"\(f(y(v)))\" x2=\"\(f(left))\" y2=\"\(f(y(v)))\" stroke=\"#888\"/>\n"
                out += text(left - 6, y(v) + 4, format(v), anchor: "end", size: 9)
            }
            for c in ticks(lastCycle) {
                out += "<line x1=\"\(f(x(c)))\" y1=\"\(f(y1))\" x2=\"\(f(x(c)))\" y2=\"\(f(y1 + 4))\" stroke=\"#888\"/>\n"
                out += text(x(c), y1 + 15, "\(c)", anchor: "middle", size: 9)
            }
            out += text(left + plotWidth, y1 + 28, "cycle", anchor: "end", size: 10)
            // Limits.
            for (label, v) in panel.limits {
                out += "<line class=\"limit\" x1=\"\(f(left))\" y1=\"\(f(y(v)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y(v)))\" stroke=\"#999\" stroke-dasharray=\"6,4\"/>\n"
                out += text(left + plotWidth - 4, y(v) - 3, label, anchor: "end", size: 9, color: "#666")
            }
            // Traces, split where a reading was unusable.
            for s in panel.series {
                var runs: [[(UInt64, Double)]] = [[]]
                for point in s.values {
                    if point.1.isFinite { runs[runs.count - 1].append(point) } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
                }
                for run in runs where !run.isEmpty {
                    let points = run.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ")
                    out += "<polyline class=\"trace\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(s.dashed ? 1.8 : 1.1)\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "") points=\"\(points)\"/>\n"
                }
            }
            // Event markers.
            for m in markers {
                out += "<line class=\"marker marker-\(m.kind)\" x1=\"\(f(x(m.cycle)))\" y1=\"\(f(y0))\" x2=\"\(f(x(m.cycle)))\" y2=\"\(f(y1))\" stroke=\"\(m.color)\" stroke-width=\"1.5\"\(m.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")><title>\(escape(m.label))</title></line>\n"
            }
            // Legend.
            for (i, s) in panel.series.enumerated() {
                let ly = y0 + 12 + Double(i) * 15
                out += "<line x1=\"\(f(left + plotWidth + 12))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + plotWidth + 32))\" y2=\"\(f(ly - 4))\" stroke=\"\(s.color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "")/>\n"
                out += text(left + plotWidth + 36, ly, s.label)
            }
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    static func makePanels(_ r: ScenarioResult, scenario: Scenario) -> [Panel] {
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
            panels.append(Panel(title: "group \(group.id)", unitHint: "", series: series, limits: limits(group.id)))
        }
        for s in r.keySensors {
            panels.append(Panel(title: "sensor \(s)", unitHint: "", series: [Series(label: s, color: palette[0], dashed: false, values: trace(s))], limits: limits(s)))
        }
        for e in scenario.expectations {
            if case .outputsWithin(let o, _, _, _, _) = e, let i = r.outputIDs.firstIndex(of: o), !panels.contains(where: { $0.title == "output \(o)" }) {
                panels.append(Panel(title: "output \(o)", unitHint: "", series: [Series(label: o, color: palette[3], dashed: false,
                                                                                         values: r.samples.map { ($0.cycle, $0.outputs[i]) })], limits: []))
            }
        }
        return panels
    }

    static func makeMarkers(_ r: ScenarioResult) -> [Marker] {
        var markers: [Marker] = []
        var seen = Set<UInt64>()
        for d in r.detections where seen.insert(d.cycle).inserted {
            markers.append(Marker(cycle: d.cycle, kind: "detection", color: "#e67e22", dash: nil, label: "cycle \(d.cycle): \(d.kind) detection on \(d.sensor)"))
        }
        for f in r.failovers {
            markers.append(Marker(cycle: f.cycle, kind: "failover", color: "#1f77b4", dash: nil, label: "cycle \(f.cycle): \(f.group) failover \(f.from) → \(f.to)"))
        }
        for e in r.escalations {
            markers.append(Marker(cycle: e.cycle, kind: "escalation", color: "#d62728", dash: nil, label: "cycle \(e.cycle): escalation about \(e.target) (\(e.reason))"))
        }
        let settled = r.firstGoodCycle ?? 0
        for i in r.interlocks where i.tripped && i.cycle >= settled {
            markers.append(Marker(cycle: i.cycle, kind: "interlock", color: "#9467bd", dash: "4,3", label: "cycle \(i.cycle): interlock \(i.id) tripped (\(format(i.value)))"))
        }
        for s in r.safeStates where s.entered && s.reason != "startup" && s.reason != "shutdown" {
            markers.append(Marker(cycle: s.cycle, kind: "safe-state", color: "#000000", dash: "1,3", label: "cycle \(s.cycle): safe state (\(s.reason))"))
        }
        return markers
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
