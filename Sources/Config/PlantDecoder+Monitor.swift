import VigilCore
import Yams

/// The `monitor:` section: detector knobs, health, groups, repairs, devices and the intervention policy.
/// Every key is optional and keeps `MonitorSettings`' default; a wrong value is reported and keeps it too.
extension PlantDecoder {
    static let monitorKeys = ["sensor_defaults", "sensors", "health", "groups", "repairs", "devices", "policy_model", "max_events_per_cycle",
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
        if map.has("health") { apply(healthKnobs, map.node("health", expected: ""), path: path.key("health"), to: &settings.health, sink: sink) }
        if map.has("groups") { apply(groupKnobs, map.node("groups", expected: ""), path: path.key("groups"), to: &settings.groups, sink: sink) }
        if map.has("repairs") { apply(repairKnobs, map.node("repairs", expected: ""), path: path.key("repairs"), to: &settings.repairs, sink: sink) }
        if map.has("devices") { apply(deviceKnobs, map.node("devices", expected: ""), path: path.key("devices"), to: &settings.devices, sink: sink) }
        if map.has("policy_model") {
            apply(policyModelKnobs, map.node("policy_model", expected: ""), path: path.key("policy_model"), to: &settings.policyModel, sink: sink)
        }
        if let events = map.int("max_events_per_cycle", in: 16...65_536) { settings.maxEventsPerCycle = events }
        for item in map.list("policy", expected: "a list of policy rows {cause, finding, severity, decision}") ?? [] {
            if let rule = decodePolicyRule(item.node, path: item.path, sink: sink) { settings.policy.append(rule) }
        }
        if map.has("reasons") {
            settings.reasons = decodeReasons(map.node("reasons", expected: ""), path: path.key("reasons"), sink: sink)
        }
        return settings
    }

    // MARK: Knobs

    /// One optional key of a block: reads it from the mapping and writes it into the settings.
    struct Knob<Root> {
        let key: String
        let apply: (MappingReader, inout Root) -> Void

        static func int(_ key: String, _ field: WritableKeyPath<Root, Int>, _ range: ClosedRange<Int>) -> Knob {
            Knob(key: key) { map, root in if let v = map.int(key, in: range) { root[keyPath: field] = v } }
        }

        static func double(_ key: String, _ field: WritableKeyPath<Root, Double>, _ bound: Bound) -> Knob {
            Knob(key: key) { map, root in
                if let v = map.double(key, expected: bound.expected, isValid: bound.accepts) { root[keyPath: field] = v }
            }
        }

        static func bool(_ key: String, _ field: WritableKeyPath<Root, Bool>) -> Knob {
            Knob(key: key) { map, root in if let v = map.bool(key) { root[keyPath: field] = v } }
        }

        /// A key that was renamed: its old name is refused with the new one, so a plant file written
        /// for an earlier build fails `vigil config check` with the fix in the message instead of
        /// being read another way.
        static func renamed(_ old: String, to new: String, hint: String) -> Knob {
            Knob(key: old) { map, _ in
                if let node = map.node(old, expected: "") {
                    map.wrong(old, node, expected: "\(new): this setting is now in seconds of plant time (\(hint))")
                }
            }
        }

        /// Seconds in the file, nanoseconds in the settings.
        static func seconds(_ key: String, _ field: WritableKeyPath<Root, UInt64>, _ bound: Bound) -> Knob {
            Knob(key: key) { map, root in
                if let v = map.double(key, expected: bound.expected, isValid: bound.accepts) {
                    root[keyPath: field] = UInt64((v * 1e9).rounded())
                }
            }
        }
    }

    /// The values a number may take, and how a diagnostic says so.
    struct Bound {
        let expected: String
        let accepts: @Sendable (Double) -> Bool

        static let positive = Bound(expected: "a number > 0") { $0 > 0 }
        static let nonNegative = Bound(expected: "a number ≥ 0") { $0 >= 0 }
        static let probability = Bound(expected: "a probability strictly between 0 and 1") { $0 > 0 && $0 < 1 }
        static let weight = Bound(expected: "a weight in 0 < w < 1") { $0 > 0 && $0 < 1 }
        static let fractionOfSpan = Bound(expected: "a fraction of the sensor's span in 0...1") { $0 >= 0 && $0 <= 1 }
        static func atLeast(_ low: Double, _ what: String) -> Bound { Bound(expected: "\(what) ≥ \(format(low))") { $0 >= low } }
        static func above(_ low: Double, _ what: String) -> Bound { Bound(expected: "\(what) > \(format(low))") { $0 > low } }
        static func within(_ range: ClosedRange<Double>, _ what: String) -> Bound {
            Bound(expected: "\(what) in \(format(range.lowerBound))...\(format(range.upperBound))") { range.contains($0) }
        }

        private static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
    }

    static let spikeWindowExpected = "an odd number of samples in 3...15"

    static var sensorKnobs: [Knob<MonitorSettings.Sensor>] {
        [.double("range_tolerance_fraction_of_span", \.rangeToleranceFractionOfSpan, .fractionOfSpan),
         .int("out_of_range_confirm_samples", \.outOfRangeConfirmSamples, 1...1000),
         .int("bad_quality_confirm_samples", \.badQualityConfirmSamples, 1...1000),
         .double("dropout_intervals", \.dropoutIntervals, .atLeast(1, "a number of poll intervals")),
         .double("dropout_floor_ms", \.dropoutFloorMilliseconds, .nonNegative),
         .int("config_error_samples", \.configErrorSamples, 1...Int.max),
         .double("stuck_resolution_fraction_of_span", \.stuckResolutionFractionOfSpan, .fractionOfSpan),
         .int("stuck_min_samples", \.stuckMinSamples, 2...Int.max),
         .int("stuck_max_samples", \.stuckMaxSamples, 2...Int.max),
         .double("stuck_false_run_probability", \.stuckFalseRunProbability, .probability),
         .double("max_rate_fraction_of_span_per_second", \.maxRateFractionOfSpanPerSecond, .positive),
         .double("rate_noise_sigmas", \.rateNoiseSigmas, .positive),
         Knob(key: "spike_window") { map, root in
             if let v = map.int("spike_window", expected: spikeWindowExpected, isValid: { (3...15).contains($0) && $0 % 2 == 1 }) {
                 root.spikeWindow = v
             }
         },
         .double("spike_sigmas", \.spikeSigmas, .positive),
         .int("spike_repeat_count", \.spikeRepeatCount, 1...8),
         .int("spike_repeat_window_samples", \.spikeRepeatWindowSamples, 1...Int.max),
         .int("warmup_samples", \.warmupSamples, 2...Int.max),
         .double("noise_variance_ratio", \.noiseVarianceRatio, .above(1, "a variance ratio")),
         .double("noise_ewma_weight", \.noiseEWMAWeight, .weight),
         .double("drift_k", \.driftK, .nonNegative),
         .double("drift_h", \.driftH, .positive),
         .int("drift_warmup_samples", \.driftWarmupSamples, 2...Int.max),
         .double("drift_baseline_weight", \.driftBaselineWeight, .within(0...0.5, "a weight")),
         .double("disagreement_sigmas", \.disagreementSigmas, .positive),
         .double("disagreement_fraction_of_span", \.disagreementFractionOfSpan, .fractionOfSpan),
         .int("disagreement_samples", \.disagreementSamples, 1...Int.max),
         .double("latency_sigmas", \.latencySigmas, .positive),
         .int("latency_consecutive_samples", \.latencyConsecutiveSamples, 1...Int.max),
         .double("latency_floor_ms", \.latencyFloorMilliseconds, .nonNegative)]
    }

    static var healthKnobs: [Knob<MonitorSettings.Health>] {
        [.int("confirm_samples", \.confirmSamples, 1...Int.max),
         .int("confirm_samples_odd_one_out", \.confirmSamplesOddOneOut, 1...Int.max),
         .int("suspect_clear_samples", \.suspectClearSamples, 1...Int.max),
         .int("quarantine_clear_samples", \.quarantineClearSamples, 1...Int.max),
         .int("probation_samples", \.probationSamples, 1...Int.max),
         .int("device_recovery_samples", \.deviceRecoverySamples, 1...Int.max),
         .seconds("no_backup_confirm_seconds", \.noBackupConfirmNanoseconds, .within(0...3600, "a number of seconds"))]
    }

    static var groupKnobs: [Knob<MonitorSettings.Groups>] {
        [.int("mid_value_select_min_members", \.midValueSelectMinMembers, 3...Int.max),
         .seconds("hold_max_seconds", \.holdMaxNanoseconds, .within(0...3600, "a number of seconds"))]
    }

    static var policyModelKnobs: [Knob<MonitorSettings.PolicyModel>] {
        [.bool("assist", \.assist),
         .int("min_margin", \.minMargin, 0...255),
         .seconds("confirm_seconds", \.confirmNanoseconds, Bound(expected: "a number of seconds in 0 < s ≤ 60") { $0 > 0 && $0 <= 60 }),
         .renamed("confirm_cycles", to: "confirm_seconds", hint: "5 cycles at 10 ms = 0.05"),
         .int("max_suppression_samples", \.maxSuppressionSamples, 0...Int.max)]
    }

    static var repairKnobs: [Knob<MonitorSettings.Repairs>] {
        [.seconds("verify_seconds", \.verifyNanoseconds, Bound(expected: "a number of seconds in 0 < s ≤ 3600") { $0 > 0 && $0 <= 3600 }),
         .renamed("verify_cycles", to: "verify_seconds", hint: "100 cycles at 10 ms = 1.0"),
         .seconds("device_verify_seconds", \.deviceVerifyNanoseconds, Bound(expected: "a number of seconds in 0 < s ≤ 3600") { $0 > 0 && $0 <= 3600 })]
    }

    static var deviceKnobs: [Knob<MonitorSettings.Devices>] {
        [.int("timeout_count", \.timeoutCount, 1...Int.max),
         .int("fault_samples", \.faultSamples, 1...Int.max),
         .double("timeout_ratio_for_slow_polling", \.timeoutRatioForSlowPolling, .probability),
         .double("crc_ratio", \.crcRatio, .probability),
         .int("exception_count", \.exceptionCount, 1...Int.max),
         .double("latency_trend_sigmas", \.latencyTrendSigmas, .positive),
         .int("latency_warmup_samples", \.latencyWarmupSamples, 2...Int.max)]
    }

    /// Reads a block's keys (unknown keys reported) into `root`.
    @discardableResult
    static func apply<Root>(_ knobs: [Knob<Root>], _ node: Node?, path: String, to root: inout Root, sink: DiagnosticSink) -> MappingReader? {
        guard let map = MappingReader(node, path: path, allowed: knobs.map(\.key), sink: sink) else { return nil }
        for knob in knobs { knob.apply(map, &root) }
        return map
    }

    /// Sensor knobs on top of `base`, then the checks between knobs.
    static func decodeSensorKnobs(_ node: Node?, path: String, base: MonitorSettings.Sensor, sink: DiagnosticSink) -> MonitorSettings.Sensor {
        var knobs = base
        guard let map = apply(sensorKnobs, node, path: path, to: &knobs, sink: sink) else { return base }
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
        let known = plant.sensors.map(\.0.id) + plant.broken.filter { $0.hasPrefix("sensor:") }.map { String($0.dropFirst(7)) }
        var result: [String: MonitorSettings.Sensor] = [:]
        for (key, value) in mapping {
            guard let id = ScalarValue.string(key), case .scalar = key else {
                sink.report(.wrongType, at: key.mark, path, found: "\(describe(key)) as a key", expected: "a sensor id")
                continue
            }
            let knobs = decodeSensorKnobs(value, path: path.key(id), base: base, sink: sink)
            guard known.contains(id) else {
                let groups = plant.groups.map(\.0.id)
                let hint = groups.contains(id) ? " (\(quoted(id)) is a redundancy group: tune its members)" : ""
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
