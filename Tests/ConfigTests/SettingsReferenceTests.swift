import Config
import Foundation
import Testing
import VigilCore

/// The monitor's knob tables in docs/CONFIGURATION.md are the ones `SettingsReference` generates
/// from the settings' key declarations. `VIGIL_WRITE_DOCS=1 swift test --filter SettingsReferenceTests`
/// rewrites them after a key, a default or a description changed.
@Suite struct SettingsReferenceTests {
    static let begin = "<!-- generated from the MonitorSettings keys (SettingsReferenceTests): begin -->\n"
    static let end = "<!-- generated: end -->\n"
    static let path = FixturePaths.root + "/docs/CONFIGURATION.md"

    @Test func theConfigurationReferenceListsEveryMonitorKeyAsDeclared() throws {
        let doc = try String(contentsOfFile: Self.path, encoding: .utf8)
        let start = try #require(doc.range(of: Self.begin), "docs/CONFIGURATION.md lacks the begin marker")
        let stop = try #require(doc.range(of: Self.end, range: start.upperBound..<doc.endIndex), "docs/CONFIGURATION.md lacks the end marker")
        let generated = SettingsReference.monitorTables()
        if ProcessInfo.processInfo.environment["VIGIL_WRITE_DOCS"] == "1" {
            try (doc[..<start.upperBound] + generated + doc[stop.lowerBound...]).write(toFile: Self.path, atomically: true, encoding: .utf8)
            return
        }
        #expect(String(doc[start.upperBound..<stop.lowerBound]) == generated,
                "docs/CONFIGURATION.md is out of date: run VIGIL_WRITE_DOCS=1 swift test --filter SettingsReferenceTests")
    }

    @Test func everyBlockNamesEachKeyOnce() {
        let names = [MonitorSettings.Sensor.keys.map(\.key), MonitorSettings.Health.keys.map(\.key), MonitorSettings.Groups.keys.map(\.key),
                     MonitorSettings.Repairs.keys.map(\.key), MonitorSettings.Devices.keys.map(\.key),
                     MonitorSettings.PolicyModel.keys.map(\.key), MonitorSettings.keys.map(\.key)]
        for block in names { #expect(Set(block).count == block.count, "\(block)") }
    }

    @Test func defaultsReadAsTheFileWritesThem() {
        #expect(SettingsReference.monitorTables().contains("| `dropout_floor_ms` | number ≥ 0 | `100` |"))
        #expect(SettingsReference.monitorTables().contains("| `stuck_false_run_probability` | probability strictly between 0 and 1 | `1e-9` |"))
        #expect(SettingsReference.monitorTables().contains("| `policy_model.confirm_seconds` | number of seconds in 0 < s ≤ 60 | `0.05` |"))
        #expect(SettingsReference.monitorTables().contains("| `drift_baseline_weight` | weight in 0...0.5 | `1e-4` |"))
    }
}
