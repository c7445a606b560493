import Foundation

/// The benchmark's text: the per-fault table of one setting, and one line per setting for comparisons.
public enum TEPReport {
    /// Per fault: detection rate and delay (samples, minutes), then the false-alarm rate and the means.
    public static func table(_ r: TEPResult, baseline: TEPResult? = nil) -> String {
        var out = "\(r.setting.name): \(r.variableCount) model variables, \(r.componentCount) components\n"
        out += "fault  detection  delay (samples)  delay (min)" + (baseline == nil ? "" : "  baseline detection  baseline delay (min)") + "\n"
        for (i, f) in r.faults.enumerated() {
            let mark = TEPResult.undetectable.contains(i + 1) ? "*" : " "
            out += String(format: "%4d", i + 1) + mark + String(format: "  %9.3f", f.rate) + "  " + left(delay(f.delaySamples), 15)
                + "  " + left(minutes(f.delaySamples), 11)
            if let b = baseline?.faults[i] { out += String(format: "  %18.3f", b.rate) + "  " + left(minutes(b.delaySamples), 19) }
            out += "\n"
        }
        out += String(format: "false-alarm rate on d00_te.dat: %.3f (%d of %d samples)", r.falseAlarmRate,
                      r.normal.flagged.filter { $0 }.count, r.normal.flagged.count)
        if let b = baseline { out += String(format: "; baseline %.3f", b.falseAlarmRate) }
        out += String(format: "\nmean detection rate: %.3f over 21 faults, %.3f over the 18 detectable (* excluded)",
                      r.meanDetectionRate, r.meanDetectionRateDetectable)
        if let b = baseline {
            out += String(format: "; baseline %.3f and %.3f", b.meanDetectionRate, b.meanDetectionRateDetectable)
        }
        return out + "\n"
    }

    /// One line per setting: false alarms, both means, and the detection rate of the hard faults.
    public static func summary(_ results: [TEPResult]) -> String {
        let width = max(20, results.map(\.setting.name.count).max() ?? 20)
        var out = pad("setting", width)
            + "   FAR   mean21  mean18 |   f5    f10   f16   f19   f20   f21\n"
        for r in results {
            out += pad(r.setting.name, width)
            out += String(format: "  %.3f  %.3f   %.3f  |", r.falseAlarmRate, r.meanDetectionRate, r.meanDetectionRateDetectable)
            for f in [5, 10, 16, 19, 20, 21] { out += String(format: " %.2f ", r.faults[f - 1].rate) }
            out += "\n"
        }
        return out
    }

    static func left(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
    static func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
    static func delay(_ d: Int?) -> String { d.map(String.init) ?? "—" }
    static func minutes(_ d: Int?) -> String { d.map { String(format: "%.0f", Double($0) * TEPDataSet.minutesPerSample) } ?? "—" }
}
