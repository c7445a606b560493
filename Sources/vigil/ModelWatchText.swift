import Foundation
import Kernel
import VigilCore

/// The model watch's figures as `vigil model info` and the console's `model` show them.
enum ModelWatchText {
    /// A table of the newest `limit` versions with live figures: outcomes in the window (in all),
    /// agreement, baseline, how far the agreement is from it against the margin, state and lineage.
    static func lines(_ figures: [ModelWatchFigures], deployed: Int?, settings: MonitorSettings.PolicyModel?, limit: Int = 5) -> [String] {
        let shown = figures.sorted { $0.version > $1.version }.prefix(limit)
        let header = settings.map {
            "live agreement with what the plant proved (margin \(points($0.watchMargin)) points, window \($0.watchWindow), judged from \($0.watchMinOutcomes) outcomes):"
        } ?? "live agreement with what the plant proved:"
        guard !shown.isEmpty else { return [header, "  no outcomes yet (operator verdicts, confirmed faults, verified repairs)"] }
        var rows = [["VERSION", "OUTCOMES", "AGREEMENT", "BASELINE", "VS BASELINE", "STATE", "LINEAGE"]]
        for f in shown {
            let agreement = f.windowAgreement
            let versus = zip2(agreement, f.baseline).map { signedPoints($0 - $1) } ?? "-"
            rows.append(["v\(f.version)" + (f.version == deployed ? "*" : ""), "\(f.recent.count) (\(f.outcomes))",
                         agreement.map(pct) ?? "-", f.baseline.map { pct($0) + (f.baselineSource.map { " (\($0))" } ?? "") } ?? "-",
                         versus, f.state.rawValue.replacingUnderscores, lineage(f)])
        }
        var out = [header] + table(rows).map { "  " + $0 }
        for f in shown where f.state != .watching && !f.reason.isEmpty { out.append("  v\(f.version): \(f.reason)") }
        if shown.contains(where: { $0.version == deployed }) { out.append("  * deployed") }
        return out
    }

    private static func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
        guard let a, let b else { return nil }
        return (a, b)
    }

    private static func lineage(_ f: ModelWatchFigures) -> String {
        (f.lineage ?? "-") + (f.fleetVersion.map { " #\($0)" } ?? "")
    }

    private static func pct(_ v: Double) -> String { "\(Int((v * 100).rounded()))%" }
    private static func points(_ v: Double) -> String { "\(Int((v * 100).rounded()))" }
    private static func signedPoints(_ v: Double) -> String {
        let p = Int((v * 100).rounded())
        return (p > 0 ? "+" : "") + "\(p) pts"
    }

    private static func table(_ rows: [[String]]) -> [String] {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingTrailingSpaces
        }
    }
}

private extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
