import VigilCore

/// The tables of docs/CONFIGURATION.md that are generated from the settings' key declarations
/// (`MonitorSettings.Sensor.keys` …): key, accepted values, default, what it does.
public enum SettingsReference {
    /// The `monitor:` section's knob tables: the detector knobs of `sensor_defaults` and
    /// `sensors.ID`, then the other blocks' keys with their block's name.
    public static func monitorTables() -> String {
        let defaults = MonitorSettings()
        var rows = table(MonitorSettings.Sensor.keys, in: defaults.sensorDefaults, prefix: "")
        rows += [""]
        rows += table(MonitorSettings.Health.keys, in: defaults.health, prefix: "health.")
        rows += table(MonitorSettings.Groups.keys, in: defaults.groups, prefix: "groups.", header: false)
        rows += table(MonitorSettings.Repairs.keys, in: defaults.repairs, prefix: "repairs.", header: false)
        rows += table(MonitorSettings.Devices.keys, in: defaults.devices, prefix: "devices.", header: false)
        rows += table(MonitorSettings.keys, in: defaults, prefix: "", header: false)
        rows += table(MonitorSettings.PolicyModel.keys, in: defaults.policyModel, prefix: "policy_model.", header: false)
        rows += table(MonitorSettings.VirtualPeers.keys, in: defaults.virtualPeers, prefix: "virtual_peers.", header: false)
        return rows.joined(separator: "\n") + "\n"
    }

    /// One row per key (a renamed key is a note on its replacement's row).
    static func table<Block>(_ keys: [SettingKey<Block>], in block: Block, prefix: String, header: Bool = true) -> [String] {
        var renamed: [String: String] = [:]
        for key in keys { if case .renamed(let new, _) = key.value { renamed[new] = key.key } }
        var rows = header ? ["| key | accepts | default | what it does |", "|---|---|---|---|"] : []
        for key in keys {
            guard let (accepts, value) = describe(key.value, in: block) else { continue }
            var doc = key.doc
            if let old = renamed[key.key] { doc += ". Was `\(old)` (cycles): a file that still says so is refused with the new name" }
            rows.append("| `\(prefix + key.key)` | \(accepts) | `\(value)` | \(doc) |")
        }
        return rows
    }

    /// What a key accepts and its default as the file writes it; nil for a renamed key.
    static func describe<Block>(_ value: SettingKey<Block>.Value, in block: Block) -> (accepts: String, value: String)? {
        switch value {
        case .integer(let field, let range):
            let accepts = range.upperBound == Int.max ? "integer ≥ \(range.lowerBound)" : "integer \(range.lowerBound)...\(range.upperBound)"
            return (accepts, String(block[keyPath: field]))
        case .oddInteger(let field, let range):
            return ("odd integer \(range.lowerBound)...\(range.upperBound)", String(block[keyPath: field]))
        case .number(let field, let bound):
            return (withoutArticle(bound.expected), number(block[keyPath: field]))
        case .milliseconds(let field, let bound):
            return (withoutArticle(bound.expected), number(block[keyPath: field] / 1e6))
        case .seconds(let field, let bound):
            return (withoutArticle(bound.expected), number(Double(block[keyPath: field]) / 1e9))
        case .flag(let field):
            return ("`true`/`false`", String(block[keyPath: field]))
        case .renamed:
            return nil
        }
    }

    private static func withoutArticle(_ text: String) -> String {
        for article in ["a ", "an "] where text.hasPrefix(article) { return String(text.dropFirst(article.count)) }
        return text
    }

    /// `x` as a plant file would write it: `3`, `0.005`, `1e-4`, `1e-9`.
    static func number(_ x: Double) -> String {
        if x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
        let text = String(x).replacing("e-0", with: "e-")
        // Swift writes 1e-4 as 0.0001: below 0.001, the exponent reads better.
        guard text.hasPrefix("0.000") else { return text }
        let digits = text.dropFirst(2)
        let zeros = digits.prefix { $0 == "0" }.count
        let significant = digits.dropFirst(zeros)
        let mantissa = significant.count == 1 ? String(significant) : "\(significant.first!).\(significant.dropFirst())"
        return "\(mantissa)e-\(zeros + 1)"
    }
}
