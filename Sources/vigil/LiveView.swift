import Foundation
import VigilCore
import Runtime
import CommandSupport

/// The live terminal view of `vigil demo`: every sensor with value, unit and quality, every output,
/// the cycle's period, lateness p99 and overruns, and why outputs are safe.
struct LiveView {
    let plant: PlantConfig
    /// Redraw in place (ANSI home + clear) on a terminal; append frames otherwise.
    let interactive: Bool
    /// What happened during the run (injected faults), shown under the view.
    var notes: [String] = []
    /// A line under the title (e.g. where the operator console is).
    var header: String?

    /// The policy model version running on the cycle (nil: none), shown beside the trust score.
    var policyModelVersion: UInt32?
    /// Whether the model assists the monitor (`monitor.policy_model.assist`) or only advises.
    var policyModelAssists = false

    func render(_ s: ControllerSnapshot, elapsedNanoseconds: UInt64) -> String {
        var out = interactive ? "\u{1B}[H\u{1B}[2J" : "\n"
        let t = s.timing
        out += String(format: "Vigil demo — %@   t=%.1f s   cycle %.1f ms   cycles %llu   lateness p99 %.0f µs (max %.0f)   overruns %llu\n",
                      plant.name, Double(elapsedNanoseconds) / 1e9, Double(plant.cycle.periodMicroseconds) / 1000, s.cycle,
                      t.latenessP99Microseconds, t.latenessMaxMicroseconds, t.overruns)
        if let header { out += header + "\n" }
        let safe = s.safeStateReasons.isEmpty ? "no" : "YES — " + s.safeStateReasons.map(\.description).joined(separator: ", ")
        out += "safe state: \(safe)   interlocks tripped: \(s.trippedInterlocks.isEmpty ? "none" : s.trippedInterlocks.joined(separator: ", "))   watchdog stalls: \(s.watchdogStalls)\n"
        out += "alarms: \(s.annunciatedAlarms) shown, \(s.activeAlarms) active   trust score: \(s.trustScore.map { String(format: "%.2f", $0) } ?? "- (no repairs yet)")   policy model: \(policyModelVersion.map { "v\($0) (\(policyModelAssists ? "assisting" : "advisory"))" } ?? "none")\n\n"
        out += pad("SENSOR", 10) + pad("VALUE", 12, right: true) + "  " + pad("UNIT", 7) + pad("QUALITY", 26) + "HEALTH\n"
        for (i, sensor) in plant.sensors.enumerated() where i < s.sensors.count {
            let r = s.sensors[i]
            out += pad(sensor.id, 10) + pad(r.value.isNaN ? "-" : String(format: "%.3f", r.value), 12, right: true) + "  "
            out += pad(sensor.unit ?? "", 7) + pad(r.quality.description, 26) + (i < s.health.count ? s.health[i].description : "-") + "\n"
        }
        if !plant.redundancyGroups.isEmpty {
            out += "\n" + pad("GROUP", 20) + pad("VALUE", 12, right: true) + "  " + pad("QUALITY", 26) + "ACTIVE SOURCE\n"
            for (g, group) in plant.redundancyGroups.enumerated() where g < s.groups.count {
                let r = s.groups[g]
                out += pad(group.id, 20) + pad(r.value.isNaN ? "-" : String(format: "%.3f", r.value), 12, right: true) + "  "
                out += pad(r.quality.description, 26) + (s.activeSource(group.id) ?? "-") + "\n"
            }
        }
        // Devices whose bus thread executed a repair: a backup path in use, or slower polling.
        var devices: [String] = []
        for (d, device) in plant.devices.enumerated() where d < s.deviceIDs.count {
            let onBackup = d < s.deviceOnBackup.count && s.deviceOnBackup[d]
            let interval = d < s.devicePollIntervalsMilliseconds.count ? s.devicePollIntervalsMilliseconds[d] : device.pollIntervalMilliseconds
            var parts: [String] = []
            if onBackup { parts.append(device.backup.map { if case .rtu = $0 { "via backup port" } else { "via backup gateway" } } ?? "via backup") }
            if interval != device.pollIntervalMilliseconds { parts.append("polled every \(interval) ms (configured \(device.pollIntervalMilliseconds))") }
            if !parts.isEmpty { devices.append("\(device.id) " + parts.joined(separator: ", ")) }
        }
        if !devices.isEmpty { out += "\ndevices: " + devices.joined(separator: "; ") + "\n" }
        out += "\n" + pad("OUTPUT", 20) + pad("VALUE", 10, right: true) + "   SAFE\n"
        for (i, output) in plant.outputs.enumerated() where i < s.outputs.count {
            out += pad(output.id, 20) + pad(String(format: "%.2f", s.outputs[i]), 10, right: true) + "   " + String(format: "%.2f", output.safe) + "\n"
        }
        if !notes.isEmpty { out += "\n" + notes.suffix(6).joined(separator: "\n") + "\n" }
        return out
    }
}
