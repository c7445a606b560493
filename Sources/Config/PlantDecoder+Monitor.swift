import VigilCore
import Yams

/// The `monitor:` section: detector knobs, health, groups, repairs, devices and the intervention policy.
/// Every key is optional and keeps `MonitorSettings`' default; a wrong value is reported and keeps it too.
extension PlantDecoder {
    static let monitorKeys = ["sensor_defaults", "sensors", "health", "groups", "repairs", "devices", "policy_model", "virtual_peers", "max_events_per_cycle",
                              "policy", "reasons"]
    static let policyRuleKeys = ["cause", "finding", "severity", "decision"]

    /// Decodes the section; `plant` must already hold the sensors (overrides name them).
    static func decodeMonitor(_ node: Node?, path: String, sink: DiagnosticSink, plant: DecodedPlant) -> MonitorSettings {
        var settings = MonitorSettings()
        guard let map = MappingReader(node, path: path, allowed: monitorKeys, sink: sink) else { return settings }
        if map.has("sensor_defaults") {
            settings.sensorDefaults = decodeSensorKnobs(map.node("sensor_defaults", expected: ""), path: path.key("sensor_defaults"),
                                                        base: settings.sensorDefaults, sink: sink)
        }
        if let node = map.node("sensors", expected: "") {
            settings.sensorOverrides = decodeSensorOverrides(node, path: path.key("sensors"), base: settings.sensorDefaults,
                                                             sink: sink, plant: plant)
        }
        applyBlock("health", MonitorSettings.Health.keys, map, path: path, to: &settings.health, sink: sink)
        applyBlock("groups", MonitorSettings.Groups.keys, map, path: path, to: &settings.groups, sink: sink)
        applyBlock("repairs", MonitorSettings.Repairs.keys, map, path: path, to: &settings.repairs, sink: sink)
        applyBlock("devices", MonitorSettings.Devices.keys, map, path: path, to: &settings.devices, sink: sink)
        applyBlock("policy_model", MonitorSettings.PolicyModel.keys, map, path: path, to: &settings.policyModel, sink: sink)
        applyBlock("virtual_peers", MonitorSettings.VirtualPeers.keys, map, path: path, to: &settings.virtualPeers, sink: sink)
        for key in MonitorSettings.keys { read(key, map, into: &settings) }
        for item in map.list("policy", expected: "a list of policy rows {cause, finding, severity, decision}") ?? [] {
            if let rule = decodePolicyRule(item.node, path: item.path, sink: sink) { settings.policy.append(rule) }
        }
        if map.has("reasons") {
            settings.reasons = decodeReasons(map.node("reasons", expected: ""), path: path.key("reasons"), sink: sink)
        }
        return settings
    }

    // MARK: Keys

    /// Block `name` of `map`, when present, read with its keys.
    private static func applyBlock<Block>(_ name: String, _ keys: [SettingKey<Block>], _ map: MappingReader, path: String,
                                          to block: inout Block, sink: DiagnosticSink) {
        guard map.has(name) else { return }
        apply(keys, map.node(name, expected: ""), path: path.key(name), to: &block, sink: sink)
    }

    /// Reads one key, when present, into `block`; a wrong value is reported and leaves the setting as it was.
    static func read<Block>(_ key: SettingKey<Block>, _ map: MappingReader, into block: inout Block) {
        let name = key.key
        switch key.value {
        case .integer(let field, let range):
            if let v = map.int(name, in: range) { block[keyPath: field] = v }
        case .oddInteger(let field, let range):
            let expected = "an odd number of samples in \(range.lowerBound)...\(range.upperBound)"
            if let v = map.int(name, expected: expected, isValid: { range.contains($0) && $0 % 2 == 1 }) { block[keyPath: field] = v }
        case .number(let field, let bound):
            if let v = map.double(name, expected: bound.expected, isValid: bound.accepts) { block[keyPath: field] = v }
        case .milliseconds(let field, let bound):
            if let v = map.double(name, expected: bound.expected, isValid: bound.accepts) {
                block[keyPath: field] = SettingKey<Block>.nanoseconds(milliseconds: v)
            }
        case .seconds(let field, let bound):
            if let v = map.double(name, expected: bound.expected, isValid: bound.accepts) {
                block[keyPath: field] = SettingKey<Block>.nanoseconds(seconds: v)
            }
        case .flag(let field):
            if let v = map.bool(name) { block[keyPath: field] = v }
        case .renamed(let new, let hint):
            // A file written for an earlier build fails `vigil config check` with the fix in the
            // message instead of being read another way.
            if let node = map.node(name, expected: "") {
                map.wrong(name, node, expected: "\(new): this setting is now in seconds of plant time (\(hint))")
            }
        }
    }

    /// Reads a block's keys (unknown keys reported) into `block`.
    @discardableResult
    static func apply<Block>(_ keys: [SettingKey<Block>], _ node: Node?, path: String, to block: inout Block,
                             sink: DiagnosticSink) -> MappingReader? {
        guard let map = MappingReader(node, path: path, allowed: keys.map(\.key), sink: sink) else { return nil }
        for key in keys { read(key, map, into: &block) }
        return map
    }

    /// Sensor knobs on top of `base`, then the checks between knobs.
    static func decodeSensorKnobs(_ node: Node?, path: String, base: MonitorSettings.Sensor, sink: DiagnosticSink) -> MonitorSettings.Sensor {
        var knobs = base
        guard let map = apply(MonitorSettings.Sensor.keys, node, path: path, to: &knobs, sink: sink) else { return base }
        if knobs.stuckMaxSamples < knobs.stuckMinSamples {
            let key = map.has("stuck_max_samples") ? "stuck_max_samples" : "stuck_min_samples"
            sink.report(.inconsistent, path.key(key), found: "stuck_max_samples \(knobs.stuckMaxSamples) below stuck_min_samples \(knobs.stuckMinSamples)",
                        expected: "stuck_max_samples ≥ stuck_min_samples")
            knobs.stuckMaxSamples = knobs.stuckMinSamples
        }
        return knobs
    }

    /// `sensors: {ID: {knobs}}`: each override starts from the sensor defaults; ids must be sensors of this plant.
    static func decodeSensorOverrides(_ node: Node, path: String, base: MonitorSettings.Sensor, sink: DiagnosticSink,
                                      plant: DecodedPlant) -> [String: MonitorSettings.Sensor] {
        guard case .mapping(let mapping) = node else {
            sink.report(.wrongType, at: node.mark, path, found: describe(node), expected: "a mapping of sensor id to detector knobs")
            return [:]
        }
        let known = Set(plant.sensors.map(\.0.id) + plant.broken.filter { $0.hasPrefix("sensor:") }.map { String($0.dropFirst(7)) })
        var result: [String: MonitorSettings.Sensor] = [:]
        for (key, value) in mapping {
            guard let id = ScalarValue.key(key), case .scalar = key else {
                sink.report(.wrongType, at: key.mark, path, found: describeKey(key), expected: "a sensor id")
                continue
            }
            let knobs = decodeSensorKnobs(value, path: path.key(id), base: base, sink: sink)
            guard known.contains(id) else {
                let hint = plant.groups.contains(where: { $0.0.id == id }) ? " (\(quoted(id)) is a redundancy group: tune its members)" : ""
                sink.report(.unresolvedReference, at: key.mark, path.key(id), found: "unknown sensor \(quoted(id))\(hint)",
                            expected: "a sensor id of this plant: " + plant.sensors.map(\.0.id).joined(separator: ", "))
                continue
            }
            result[id] = knobs
        }
        return result
    }

    // MARK: Policy

    static let safetyRule = "a safety-severity diagnosis and a safety_limit escalation always go to an operator with the affected "
        + "outputs safe; no configuration relaxes that"

    static func decodePolicyRule(_ node: Node, path: String, sink: DiagnosticSink) -> MonitorSettings.PolicyRule? {
        guard let map = MappingReader(node, path: path, allowed: policyRuleKeys, sink: sink) else { return nil }
        let errorsBefore = sink.diagnostics.count
        let cause = word(map, "cause", MonitorSettings.Cause.self)
        let severity = word(map, "severity", MonitorSettings.Severity.self)
        let finding = findingPattern(map)
        let decisions = "one of " + MonitorSettings.Decision.allCases.map(\.rawValue).joined(separator: ", ")
        var decision: MonitorSettings.Decision?
        if let node = map.node("decision", required: true, expected: decisions) {
            decision = ScalarValue.string(node).flatMap(MonitorSettings.Decision.init(rawValue:))
            if decision == nil { map.wrong("decision", node, expected: decisions) }
        }
        guard let decision, let cause, let severity, let finding, sink.diagnostics.count == errorsBefore else { return nil }
        if severity == .some(.safety) && decision != .operatorInterventionAndSafeOutputs {
            sink.report(.inconsistent, path.key("decision"), found: "\(quoted(decision.rawValue)) for severity safety",
                        expected: "operator_intervention_and_safe_outputs: " + safetyRule)
            return nil
        }
        return MonitorSettings.PolicyRule(cause: cause, finding: finding, severity: severity, decision: decision)
    }

    /// `*` (or an absent key) is any: `.some(nil)`; an unknown word is reported: nil.
    private static func word<E: RawRepresentable & CaseIterable>(_ map: MappingReader, _ key: String, _ type: E.Type) -> E??
    where E.RawValue == String {
        guard let node = map.node(key, expected: "") else { return .some(nil) }
        let expected = "* or one of " + E.allCases.map(\.rawValue).joined(separator: ", ")
        guard let text = ScalarValue.string(node) else { map.wrong(key, node, expected: expected); return nil }
        if text == "*" { return .some(nil) }
        guard let value = E(rawValue: text) else { map.wrong(key, node, expected: expected); return nil }
        return .some(value)
    }

    private static func findingPattern(_ map: MappingReader) -> MonitorSettings.FindingPattern? {
        guard let node = map.node("finding", expected: "") else { return .any }
        let expected = "*, a finding kind (" + MonitorSettings.FindingKind.allCases.map(\.rawValue).joined(separator: ", ")
            + ") or a category (" + MonitorSettings.FindingCategory.allCases.map { "category:" + $0.rawValue }.joined(separator: ", ") + ")"
        guard let text = ScalarValue.string(node) else { map.wrong("finding", node, expected: expected); return nil }
        if text == "*" { return .any }
        if let kind = MonitorSettings.FindingKind(rawValue: text) { return .kind(kind) }
        if text.hasPrefix("category:"), let c = MonitorSettings.FindingCategory(rawValue: String(text.dropFirst("category:".count))) {
            return .category(c)
        }
        map.wrong("finding", node, expected: expected)
        return nil
    }

    /// `reasons: {REASON: DECISION}`.
    static func decodeReasons(_ node: Node?, path: String, sink: DiagnosticSink) -> [MonitorSettings.ReasonRule] {
        guard let map = MappingReader(node, path: path, allowed: MonitorSettings.Reason.allCases.map(\.rawValue), sink: sink) else { return [] }
        let decisions = "one of " + MonitorSettings.Decision.allCases.map(\.rawValue).joined(separator: ", ")
        var rules: [MonitorSettings.ReasonRule] = []
        for reason in MonitorSettings.Reason.allCases {
            guard let node = map.node(reason.rawValue, expected: decisions) else { continue }
            guard let decision = ScalarValue.string(node).flatMap(MonitorSettings.Decision.init(rawValue:)) else {
                map.wrong(reason.rawValue, node, expected: decisions)
                continue
            }
            if reason == .safetyLimit && decision != .operatorInterventionAndSafeOutputs {
                sink.report(.inconsistent, at: node.mark, path.key(reason.rawValue), found: quoted(decision.rawValue),
                            expected: "operator_intervention_and_safe_outputs: " + safetyRule)
                continue
            }
            rules.append(MonitorSettings.ReasonRule(reason: reason, decision: decision))
        }
        return rules
    }
}
