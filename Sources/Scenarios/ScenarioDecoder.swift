import Foundation
import Config
import HIL
import Monitor
import VigilCore
import Yams

/// Decodes `hil/scenarios/*.yaml`. Problems are `ConfigDiagnostic`s, as for plant files:
/// `hil/scenarios/x.yaml:7:11: faults[0].kind: found "melt", expected one of stuck, drift, …`.
/// Every problem is collected before throwing.
public enum ScenarioDecoder {
    static let topKeys = ["name", "requires", "config", "rig", "seed", "cycles", "period_ms", "poll_interval_ms", "faults", "expect"]
    static let faultKeys = ["at", "until", "target", "kind", "value", "rate_per_s", "magnitude", "code", "ms", "frames", "probability",
                            "samples", "repeat"]
    static let expectationKinds = ["failover", "no_failover", "failovers", "active_source", "detection", "no_detection", "diagnosis",
                                   "no_diagnosis", "alarm", "escalation", "no_escalation", "alarms", "interlock", "outputs_within",
                                   "no_latched_outputs", "readings_good", "safe_state", "repair", "no_repair", "device_state"]

    /// Reads and decodes a scenario file; `config` is resolved against the file's folder.
    public static func load(path: String) throws(ConfigError) -> Scenario {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(diagnostics: [ConfigDiagnostic(kind: .fileNotReadable, file: path, line: nil, column: nil, keyPath: "",
                                                             found: "a file that cannot be read (\(error.localizedDescription))",
                                                             expected: "a readable scenario file")])
        }
        return try decode(text, file: path)
    }

    /// Decodes scenario text; `file` names it in diagnostics and anchors the relative `config` path.
    public static func decode(_ text: String, file: String) throws(ConfigError) -> Scenario {
        let sink = Sink(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
            if root == nil { sink.report(.wrongType, nil, "", found: "an empty document", expected: "a scenario mapping") }
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                sink.report(.syntax, mark, "", found: "YAML syntax error \(quoted(problem))", expected: "well-formed YAML")
            case .duplicatedKeysInMapping(let duplicates, let context):
                sink.report(.duplicate, context.mark, "", found: "duplicate key \(duplicates.map { quoted(String(describing: $0)) }.joined(separator: ", "))",
                            expected: "each key once")
            default:
                sink.report(.syntax, nil, "", found: "YAML error \(quoted(String(describing: error)))", expected: "well-formed YAML")
            }
            root = nil
        } catch {
            sink.report(.syntax, nil, "", found: "YAML error \(quoted(String(describing: error)))", expected: "well-formed YAML")
            root = nil
        }
        guard let root, let top = Reader(root, path: "", allowed: topKeys, sink: sink) else {
            throw ConfigError(diagnostics: sink.diagnostics)
        }
        let name = top.string("name", required: true)
        let config = top.string("config", required: true, expected: "the path of a plant file, relative to the scenario")
        let seed = top.int("seed", expected: "an integer ≥ 0") { $0 >= 0 }
        let cycles = top.int("cycles", required: true, expected: "an integer in 1...1000000") { (1...1_000_000).contains($0) }
        let period = top.double("period_ms", expected: "a number of milliseconds in 1...10000") { (1...10_000).contains($0) }
        let poll = top.int("poll_interval_ms", expected: "an integer number of milliseconds in 1...60000") { (1...60_000).contains($0) }

        var requires: Set<Requirement> = []
        if let node = top.node("requires") {
            let items: [(Node, String)]
            if case .sequence(let s) = node { items = s.enumerated().map { ($1, "requires[\($0)]") } } else { items = [(node, "requires")] }
            for (item, path) in items {
                if let word = scalarString(item), let r = Requirement(rawValue: word) { requires.insert(r) } else {
                    sink.report(.wrongType, item.mark, path, found: describe(item),
                                expected: "one of " + Requirement.allCases.map(\.rawValue).joined(separator: ", "))
                }
            }
        }

        var rig = RigOptions()
        if let node = top.node("rig"), let r = Reader(node, path: "rig", allowed: ["pacing", "ports", "port_offset"], sink: sink) {
            if let pacing = r.choice("pacing", RigOptions.Pacing.self) { rig.pacing = pacing }
            if let ports = r.string("ports", expected: "one of ephemeral, configured, offset") {
                switch ports {
                case "ephemeral": rig.ports = .ephemeral
                case "configured": rig.ports = .configured
                case "offset":
                    if let o = r.int("port_offset", required: true, expected: "an integer in -65535...65535", isValid: { abs($0) <= 65535 }) {
                        rig.ports = .offset(o)
                    }
                default: r.wrong("ports", r.node("ports")!, expected: "one of ephemeral, configured, offset")
                }
            }
        }

        var faults: [ScheduledFault] = []
        for (node, path) in top.list("faults") ?? [] {
            faults += decodeFault(node, path: path, cycles: cycles, sink: sink)
        }
        var expectations: [Expectation] = []
        for (node, path) in top.list("expect") ?? [] {
            if let e = decodeExpectation(node, path: path, sink: sink) { expectations.append(e) }
        }

        guard sink.diagnostics.isEmpty, let name, let config, let cycles else { throw ConfigError(diagnostics: sink.diagnostics) }
        return Scenario(name: name, file: file, configPath: resolve(config, relativeTo: file), rig: rig, seed: UInt64(seed ?? 1),
                        cycles: UInt64(cycles), periodMilliseconds: period, pollIntervalMilliseconds: poll, requires: requires,
                        faults: faults, expectations: expectations)
    }

    public static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL.path
    }

    /// One fault entry: one fault, or with `repeat: { every: N, times: K }` the same fault K times,
    /// N cycles apart, each lasting from `at` to `until` (on/off cycles as one entry).
    private static func decodeFault(_ node: Node, path: String, cycles: Int?, sink: Sink) -> [ScheduledFault] {
        guard let r = Reader(node, path: path, allowed: faultKeys, sink: sink) else { return [] }
        let at = r.int("at", required: true, expected: "a cycle number ≥ 0") { $0 >= 0 }
        let until = r.int("until", expected: "a cycle number after `at`") { $0 > (at ?? -1) }
        let kind = r.choice("kind", FaultKind.self, required: true)
        var target: FaultTarget?
        let targetExpected = "\"sensor ID\", \"device ID\", \"gateway DEVICE\", \"backup_gateway DEVICE\", \"line PORT\" or \"signal NAME\""
        if let text = r.string("target", required: true, expected: targetExpected) {
            let words = text.split(separator: " ", maxSplits: 1).map(String.init)
            switch (words.first, words.count) {
            case ("sensor", 2): target = .sensor(words[1])
            case ("device", 2): target = .device(words[1])
            case ("line", 2): target = .line(words[1])
            case ("gateway", 2): target = .gateway(words[1])
            case ("backup_gateway", 2): target = .backupGateway(words[1])
            case ("signal", 2): target = .signal(words[1])
            default: r.wrong("target", r.node("target")!, expected: targetExpected)
            }
        }
        if let kind, let target {
            let targetKind = String(describing: target).split(separator: " ")[0]
            if !kind.targetKinds.contains(String(targetKind)) {
                r.wrong("kind", r.node("kind")!, expected: "a \(targetKind) fault: "
                        + FaultKind.allCases.filter { $0.targetKinds.contains(String(targetKind)) }.map(\.rawValue).joined(separator: ", "),
                        kind: .inconsistent)
            }
        }
        var p = FaultParameters()
        p.value = r.double("value")
        p.ratePerSecond = r.double("rate_per_s")
        p.magnitude = r.double("magnitude")
        p.code = r.int("code", expected: "a Modbus exception code in 1...11") { (1...11).contains($0) }
        p.milliseconds = r.int("ms", expected: "an integer number of milliseconds ≥ 0") { $0 >= 0 }
        p.frames = r.int("frames", expected: "an integer ≥ 0") { $0 >= 0 }
        p.probability = r.double("probability", expected: "a probability in 0...1") { (0...1).contains($0) }
        p.samples = r.int("samples", expected: "a number of replies ≥ 1") { $0 >= 1 }
        if let kind {
            let missing: (String, String)? = switch kind {
            case .drift where p.ratePerSecond == nil: ("rate_per_s", "the drift rate in units per second")
            case .spike where p.magnitude == nil && p.value == nil && p.milliseconds == nil:
                ("magnitude", "the spike's size in engineering units (or, on a GPIO input, ms: the pulse width)")
            case .noise where p.magnitude == nil && p.milliseconds == nil:
                ("magnitude", "the extra noise's standard deviation (or, on a GPIO input, ms: the chatter's period)")
            case .bias where p.value == nil && p.magnitude == nil: ("value", "the bias in engineering units")
            case .delay where p.milliseconds == nil: ("ms", "the delay in milliseconds")
            case .excursion where p.value == nil && p.magnitude == nil && p.ratePerSecond == nil:
                ("value", "the level the signal goes to (or magnitude: an offset, rate_per_s: a ramp)")
            default: nil
            }
            if let (key, expected) = missing { sink.report(.missingKey, r.mark, path.key(key), found: "nothing", expected: expected) }
        }
        if let at, let cycles, at >= cycles {
            r.wrong("at", r.node("at")!, expected: "a cycle before the end of the run (cycles: \(cycles))", kind: .outOfRange)
        }
        var every = 0, times = 1
        if let node = r.node("repeat"), let rep = Reader(node, path: path.key("repeat"), allowed: ["every", "times"], sink: sink) {
            let span = (until ?? 0) - (at ?? 0)
            let e = rep.int("every", required: true, expected: "a number of cycles longer than the fault lasts (until − at = \(span))") { $0 > span }
            let t = rep.int("times", required: true, expected: "a number of repetitions in 1...10000") { (1...10_000).contains($0) }
            if until == nil {
                sink.report(.missingKey, r.mark, path.key("until"), found: "nothing", expected: "the cycle the first repetition ends (a repeating fault is on from at to until)")
            }
            if let e, let t, let at, let cycles, at + (t - 1) * e >= cycles {
                rep.wrong("times", rep.node("times")!, expected: "at most \((cycles - 1 - at) / e + 1) repetitions in a run of \(cycles) cycles",
                          kind: .outOfRange)
            }
            every = e ?? 0
            times = t ?? 1
        }
        guard let at, let kind, let target else { return [] }
        return (0..<times).map { k in
            ScheduledFault(at: UInt64(at + k * every), until: until.map { UInt64($0 + k * every) }, target: target, kind: kind, parameters: p)
        }
    }

    private static func decodeExpectation(_ node: Node, path: String, sink: Sink) -> Expectation? {
        let expected = "one of " + expectationKinds.joined(separator: ", ")
        // A bare word: `- no_failover`, `- no_escalation`, `- no_latched_outputs`, `- no_diagnosis`.
        if let word = scalarString(node) {
            switch word {
            case "no_failover": return .noFailover(group: nil)
            case "no_escalation": return .noEscalation(target: nil)
            case "no_latched_outputs": return .noLatchedOutputs(outputs: [])
            case "no_diagnosis": return .noDiagnosis(target: nil, cause: nil)
            case "no_repair": return .noRepair(target: nil, strategy: nil)
            default:
                sink.report(.wrongType, node.mark, path, found: describe(node),
                            expected: expected + " (a mapping, or the bare word no_failover, no_escalation, no_diagnosis, no_repair or no_latched_outputs)")
                return nil
            }
        }
        guard case .mapping(let m) = node, m.count == 1, let (keyNode, value) = m.first.map({ ($0.key, $0.value) }),
              let key = scalarString(keyNode) else {
            sink.report(.wrongType, node.mark, path, found: describe(node), expected: "a mapping with one key, " + expected)
            return nil
        }
        let p = path.key(key)
        guard expectationKinds.contains(key) else {
            sink.report(.unknownKey, keyNode.mark, p, found: "unknown expectation \(quoted(key))", expected: expected)
            return nil
        }
        func window(_ r: Reader) -> (UInt64?, UInt64?) {
            (r.int("within_cycles", expected: "a number of cycles ≥ 0") { $0 >= 0 }.map(UInt64.init),
             r.int("after", expected: "a cycle number ≥ 0") { $0 >= 0 }.map(UInt64.init))
        }
        switch key {
        case "safe_state":
            guard let b = scalarBool(value) else {
                sink.report(.wrongType, value.mark, p, found: describe(value), expected: "true or false")
                return nil
            }
            return .safeState(b)
        case "no_failover", "no_escalation":
            if let id = scalarString(value) { return key == "no_failover" ? .noFailover(group: id) : .noEscalation(target: id) }
            let idKey = key == "no_failover" ? "group" : "target"
            guard let r = Reader(value, path: p, allowed: key == "no_failover" ? ["group", "to"] : [idKey], sink: sink) else { return nil }
            let id = r.string(idKey)
            if key == "no_failover", let to = r.string("to", expected: "a sensor id") { return .neverFailoverTo(sensor: to, group: id) }
            return key == "no_failover" ? .noFailover(group: id) : .noEscalation(target: id)
        case "failovers", "alarms":
            let allowed = key == "failovers" ? ["group", "count", "min", "max"] : ["target", "priority", "count", "min", "max", "from"]
            guard let r = Reader(value, path: p, allowed: allowed, sink: sink) else { return nil }
            let count = r.int("count", expected: "a number ≥ 0") { $0 >= 0 }
            var lo = r.int("min", expected: "a number ≥ 0") { $0 >= 0 }
            var hi = r.int("max", expected: "a number ≥ min") { $0 >= (lo ?? 0) }
            if let count { lo = count; hi = count }
            if lo == nil && hi == nil && !r.has("count") && !r.has("min") && !r.has("max") {
                sink.report(.missingKey, r.mark, p.key("max"), found: "nothing", expected: "count, min or max")
            }
            if key == "failovers" { return .failoverCount(group: r.string("group", expected: "a redundancy group id"), min: lo, max: hi) }
            var priority: DiagnosisSeverity?
            if let word = r.string("priority", expected: "minor, major or safety") {
                priority = DiagnosisSeverity.allCases.first { $0.scenarioName == word }
                if priority == nil { r.wrong("priority", r.node("priority")!, expected: "minor, major or safety") }
            }
            let from = r.int("from", expected: "a cycle number ≥ 0") { $0 >= 0 }.map(UInt64.init)
            return .alarms(target: r.string("target", expected: "a sensor, device, group or section id"), priority: priority,
                           min: lo, max: hi, fromCycle: from)
        case "active_source":
            guard let r = Reader(value, path: p, allowed: ["group", "sensor", "at"], sink: sink) else { return nil }
            let group = r.string("group", required: true, expected: "a redundancy group id")
            let sensor = r.string("sensor", required: true, expected: "a sensor id")
            let at = r.int("at", expected: "a cycle number ≥ 1") { $0 >= 1 }.map(UInt64.init)
            guard let group, let sensor else { return nil }
            return .activeSource(group: group, sensor: sensor, atCycle: at)
        case "diagnosis", "no_diagnosis":
            let allowed = key == "diagnosis" ? ["target", "cause", "within_cycles", "after"] : ["target", "cause"]
            guard let r = Reader(value, path: p, allowed: allowed, sink: sink) else { return nil }
            let target = r.string("target", required: key == "diagnosis", expected: "a sensor, device, group or section id")
            var cause: RootCause?
            if let word = r.string("cause", expected: RootCause.scenarioWords) {
                cause = RootCause.byScenarioName(word)
                if cause == nil { r.wrong("cause", r.node("cause")!, expected: RootCause.scenarioWords) }
            }
            if key == "no_diagnosis" { return .noDiagnosis(target: target, cause: cause) }
            let (within, after) = window(r)
            return target.map { .diagnosis(target: $0, cause: cause, withinCycles: within, after: after) }
        case "no_latched_outputs":
            if let single = scalarString(value) { return .noLatchedOutputs(outputs: [single]) }
            guard case .sequence(let items) = value else {
                sink.report(.wrongType, value.mark, p, found: describe(value), expected: "an output id or a list of output ids")
                return nil
            }
            var outputs: [String] = []
            for (i, item) in items.enumerated() {
                if let id = scalarString(item) { outputs.append(id) } else {
                    sink.report(.wrongType, item.mark, p + "[\(i)]", found: describe(item), expected: "an output id")
                }
            }
            return .noLatchedOutputs(outputs: outputs)
        case "failover":
            guard let r = Reader(value, path: p, allowed: ["group", "to", "within_cycles", "after"], sink: sink) else { return nil }
            let group = r.string("group", required: true, expected: "a redundancy group id")
            let to = r.string("to", expected: "a sensor id")
            let within = r.int("within_cycles", expected: "a number of cycles ≥ 0") { $0 >= 0 }.map(UInt64.init)
            var after: UInt64?, afterDetection = false
            if let n = r.node("after") {
                if plainScalar(n) == "detection" { afterDetection = true } else {
                    after = r.int("after", expected: "a cycle number ≥ 0 or the word detection") { $0 >= 0 }.map(UInt64.init)
                }
            }
            return group.map { .failover(group: $0, to: to, withinCycles: within, after: after, afterDetection: afterDetection) }
        case "detection", "no_detection":
            if key == "no_detection", let id = scalarString(value) { return .noDetection(subject: id, kind: nil) }
            let allowed = key == "detection" ? ["sensor", "device", "section", "kind", "within_cycles", "after"] : ["sensor", "device", "section", "kind"]
            guard let r = Reader(value, path: p, allowed: allowed, sink: sink) else { return nil }
            let subject = r.string("sensor") ?? r.string("device") ?? r.string("section")
            if subject == nil, !r.has("sensor"), !r.has("device"), !r.has("section") {
                sink.report(.missingKey, r.mark, p.key("sensor"), found: "nothing", expected: "a sensor, device or section id")
            }
            var kind: FindingKind?
            let kinds = "one of " + FindingKind.allCases.map(\.scenarioName).joined(separator: ", ")
            if let word = r.string("kind", expected: kinds) {
                kind = FindingKind.byScenarioName[word]
                if kind == nil { r.wrong("kind", r.node("kind")!, expected: kinds) }
            }
            if key == "no_detection" { return subject.map { .noDetection(subject: $0, kind: kind) } }
            let (within, after) = window(r)
            return subject.map { .detection(subject: $0, kind: kind, withinCycles: within, after: after) }
        case "alarm", "escalation":
            guard let r = Reader(value, path: p, allowed: ["target", "reason", "within_cycles", "after"], sink: sink) else { return nil }
            let target = r.string("target", required: true, expected: "a sensor, device or group id")
            var reason: EscalationReason?
            let reasons = "one of " + EscalationReason.allCases.map(\.scenarioName).joined(separator: ", ")
            if let word = r.string("reason", expected: reasons) {
                reason = EscalationReason.byScenarioName[word]
                if reason == nil { r.wrong("reason", r.node("reason")!, expected: reasons) }
            }
            let (within, after) = window(r)
            return target.map { .escalation(target: $0, reason: reason, withinCycles: within, after: after) }
        case "interlock":
            guard let r = Reader(value, path: p, allowed: ["id", "tripped", "within_cycles", "after", "cleared"], sink: sink) else { return nil }
            let id = r.string("id", required: true, expected: "a limit id")
            let tripped = r.bool("tripped", required: true)
            let (within, after) = window(r)
            let cleared = r.bool("cleared")
            guard let id, let tripped else { return nil }
            return .interlock(id: id, tripped: tripped, withinCycles: within, after: after, cleared: cleared)
        case "outputs_within":
            guard let r = Reader(value, path: p, allowed: ["output", "min", "max", "from", "until"], sink: sink) else { return nil }
            let output = r.string("output", required: true, expected: "an output id")
            let lo = r.double("min", required: true)
            let hi = r.double("max", required: true, expected: "a number ≥ min") { $0 >= (lo ?? -.infinity) }
            let from = r.int("from", expected: "a cycle number ≥ 0") { $0 >= 0 }.map(UInt64.init)
            let until = r.int("until", expected: "a cycle number after from") { $0 > Int(from ?? 0) }.map(UInt64.init)
            guard let output, let lo, let hi else { return nil }
            return .outputsWithin(output: output, min: lo, max: hi, fromCycle: from, untilCycle: until)
        case "readings_good":
            guard let r = Reader(value, path: p, allowed: ["sensor", "from", "until"], sink: sink) else { return nil }
            let sensor = r.string("sensor", required: true, expected: "a sensor id")
            let from = r.int("from", expected: "a cycle number ≥ 0") { $0 >= 0 }.map(UInt64.init)
            let until = r.int("until", expected: "a cycle number after from") { $0 > Int(from ?? 0) }.map(UInt64.init)
            return sensor.map { .readingsGood(sensor: $0, fromCycle: from, untilCycle: until) }
        case "repair", "no_repair":
            let allowed = key == "repair" ? ["target", "strategy", "verified", "within_cycles", "after"] : ["target", "strategy"]
            guard let r = Reader(value, path: p, allowed: allowed, sink: sink) else { return nil }
            let device = r.string("target", required: key == "repair", expected: "a sensor, device or redundancy group id")
            var strategy: RepairStrategy?
            let strategies = "one of " + RepairStrategy.allCases.map(\.scenarioName).joined(separator: ", ")
            if let word = r.string("strategy", expected: strategies) {
                strategy = RepairStrategy.allCases.first { $0.scenarioName == word }
                if strategy == nil { r.wrong("strategy", r.node("strategy")!, expected: strategies) }
            }
            if key == "no_repair" { return .noRepair(target: device, strategy: strategy) }
            let verified = r.bool("verified")
            let (within, after) = window(r)
            return device.map { .repair(device: $0, strategy: strategy, verified: verified, withinCycles: within, after: after) }
        case "device_state":
            guard let r = Reader(value, path: p, allowed: ["device", "path", "min_poll_interval_ms", "at"], sink: sink) else { return nil }
            let device = r.string("device", required: true, expected: "a device id")
            var backup: Bool?
            if let word = r.string("path", expected: "primary or backup") {
                switch word {
                case "primary": backup = false
                case "backup": backup = true
                default: r.wrong("path", r.node("path")!, expected: "primary or backup")
                }
            }
            let minPoll = r.int("min_poll_interval_ms", expected: "a number of milliseconds ≥ 1") { $0 >= 1 }
            let at = r.int("at", expected: "a cycle number ≥ 0") { $0 >= 0 }.map(UInt64.init)
            return device.map { .deviceState(device: $0, backup: backup, minPollIntervalMilliseconds: minPoll, atCycle: at) }
        default:
            return nil
        }
    }
}

/// Checks that a scenario fits its plant: every target, group, sensor, limit and output it names exists.
extension ScenarioDecoder {
    /// Diagnostics (no positions: the plant is known only after decoding) for names the plant lacks.
    public static func check(_ scenario: Scenario, against plant: PlantConfig) -> [ConfigDiagnostic] {
        var out: [ConfigDiagnostic] = []
        func report(_ path: String, _ found: String, _ expected: String, _ choices: [String]) {
            out.append(ConfigDiagnostic(kind: .unresolvedReference, file: scenario.file, line: nil, column: nil, keyPath: path,
                                        found: quoted(found), expected: expected + " of \(plant.name): " + choices.joined(separator: ", ")))
        }
        let sensors = plant.sensors.map(\.id), devices = plant.devices.map(\.id), groups = plant.redundancyGroups.map(\.id)
        let limits = plant.limits.map(\.id), outputs = plant.outputs.map(\.id), signals = plant.simulationSignals.map(\.name)
        let sections = plant.sections.map(\.id)
        var ports: [String] = []
        for d in plant.devices { if case .rtu(let s) = d.transport, !ports.contains(s.port) { ports.append(s.port) } }
        for d in plant.devices { if case .rtu(let s)? = d.backup, !ports.contains(s.port) { ports.append(s.port) } }
        for (i, f) in scenario.faults.enumerated() {
            let path = "faults[\(i)].target"
            if case .sensor(let id) = f.target, [.spike, .noise].contains(f.kind), f.parameters.magnitude == nil, f.parameters.value == nil,
               let sensor = plant.sensors.first(where: { $0.id == id }), case .point = sensor.source {
                out.append(ConfigDiagnostic(kind: .missingKey, file: scenario.file, line: nil, column: nil, keyPath: "faults[\(i)].magnitude",
                                            found: "nothing", expected: "the \(f.kind.rawValue)'s size in engineering units (\(id) is a Modbus sensor)"))
            }
            switch f.target {
            case .sensor(let id) where !sensors.contains(id): report(path, id, "a sensor", sensors)
            case .device(let id) where !devices.contains(id): report(path, id, "a device", devices)
            case .line(let id) where !ports.contains(id): report(path, id, "a serial port", ports)
            case .gateway(let id) where !devices.contains(id): report(path, id, "a device", devices)
            case .backupGateway(let id) where !devices.contains(id): report(path, id, "a device", devices)
            case .backupGateway(let id):
                if plant.device(id: id)?.backup == nil {
                    out.append(ConfigDiagnostic(kind: .inconsistent, file: scenario.file, line: nil, column: nil, keyPath: path,
                                                found: quoted(id) + " without a backup path", expected: "a device with backup: or backup_port:"))
                }
            case .signal(let id) where !signals.contains(id): report(path, id, "a simulation signal", signals)
            default: break
            }
        }
        for (i, e) in scenario.expectations.enumerated() {
            let path = "expect[\(i)]"
            switch e {
            case .failover(let g, let to, _, _, _):
                if !groups.contains(g) { report(path + ".failover.group", g, "a redundancy group", groups) }
                if let to, !sensors.contains(to) { report(path + ".failover.to", to, "a sensor", sensors) }
            case .noFailover(let g?) where !groups.contains(g): report(path + ".no_failover", g, "a redundancy group", groups)
            case .detection(let s, _, _, _) where !(sensors + devices + sections).contains(s):
                report(path + ".detection.sensor", s, "a sensor, device or section", sensors + devices + sections)
            case .noDetection(let s, _) where !(sensors + devices + sections).contains(s):
                report(path + ".no_detection", s, "a sensor, device or section", sensors + devices + sections)
            case .escalation(let t, _, _, _) where !(sensors + devices + groups).contains(t):
                report(path + ".escalation.target", t, "a sensor, device or group", sensors + devices + groups)
            case .interlock(let id, _, _, _, _) where !limits.contains(id): report(path + ".interlock.id", id, "a limit", limits)
            case .outputsWithin(let o, _, _, _, _) where !outputs.contains(o): report(path + ".outputs_within.output", o, "an output", outputs)
            case .readingsGood(let s, _, _) where !sensors.contains(s): report(path + ".readings_good.sensor", s, "a sensor", sensors)
            case .repair(let d, _, _, _, _) where !(sensors + devices + groups).contains(d):
                report(path + ".repair.target", d, "a sensor, device or group", sensors + devices + groups)
            case .noRepair(let d?, _) where !(sensors + devices + groups).contains(d):
                report(path + ".no_repair.target", d, "a sensor, device or group", sensors + devices + groups)
            case .deviceState(let d, _, _, _) where !devices.contains(d): report(path + ".device_state.device", d, "a device", devices)
            case .failoverCount(let g?, _, _) where !groups.contains(g): report(path + ".failovers.group", g, "a redundancy group", groups)
            case .neverFailoverTo(let to, let g):
                if !sensors.contains(to) { report(path + ".no_failover.to", to, "a sensor", sensors) }
                if let g, !groups.contains(g) { report(path + ".no_failover.group", g, "a redundancy group", groups) }
            case .activeSource(let g, let to, _):
                if !groups.contains(g) { report(path + ".active_source.group", g, "a redundancy group", groups) }
                if !sensors.contains(to) { report(path + ".active_source.sensor", to, "a sensor", sensors) }
            case .diagnosis(let t, _, _, _) where !(sensors + devices + groups + sections).contains(t):
                report(path + ".diagnosis.target", t, "a sensor, device, group or section", sensors + devices + groups + sections)
            case .noDiagnosis(let t?, _) where !(sensors + devices + groups + sections).contains(t):
                report(path + ".no_diagnosis.target", t, "a sensor, device, group or section", sensors + devices + groups + sections)
            case .alarms(let t?, _, _, _, _) where !(sensors + devices + groups + sections).contains(t):
                report(path + ".alarms.target", t, "a sensor, device, group or section", sensors + devices + groups + sections)
            case .noLatchedOutputs(let os):
                for o in os where !outputs.contains(o) { report(path + ".no_latched_outputs", o, "an output", outputs) }
            default: break
            }
        }
        return out
    }
}

// MARK: - A small mapping reader (the Config target's own is internal to it)

final class Sink {
    let file: String
    private(set) var diagnostics: [ConfigDiagnostic] = []
    init(file: String) { self.file = file }
    func report(_ kind: ConfigDiagnostic.Kind, _ mark: Mark?, _ path: String, found: String, expected: String) {
        diagnostics.append(ConfigDiagnostic(kind: kind, file: file, line: mark?.line, column: mark?.column,
                                            keyPath: path, found: found, expected: expected))
    }
}

struct Reader {
    let path: String
    let mark: Mark?
    let sink: Sink
    private var values: [String: Node] = [:]

    init?(_ node: Node, path: String, allowed: [String], sink: Sink) {
        self.path = path
        self.sink = sink
        guard case .mapping(let mapping) = node else {
            sink.report(.wrongType, node.mark, path, found: describe(node), expected: "a mapping")
            return nil
        }
        mark = mapping.mark
        for (key, value) in mapping {
            guard let name = scalarString(key), allowed.contains(name) else {
                sink.report(.unknownKey, key.mark, path.key(scalarString(key) ?? "?"), found: "unknown key \(describe(key))",
                            expected: "one of " + allowed.joined(separator: ", "))
                continue
            }
            values[name] = value
        }
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    func node(_ key: String, required: Bool = false, expected: String = "a value") -> Node? {
        if let n = values[key] { return n }
        if required { sink.report(.missingKey, mark, path.key(key), found: "nothing", expected: expected) }
        return nil
    }

    func wrong(_ key: String, _ node: Node, expected: String, kind: ConfigDiagnostic.Kind = .wrongType) {
        var found = describe(node)
        if kind == .wrongType, case .scalar(let s) = node, s.style != .plain { found = "the quoted string " + found }
        sink.report(kind, node.mark, path.key(key), found: found, expected: expected)
    }

    func string(_ key: String, required: Bool = false, expected: String = "a string") -> String? {
        guard let n = node(key, required: required, expected: expected) else { return nil }
        guard let s = scalarString(n), !s.isEmpty else { wrong(key, n, expected: expected); return nil }
        return s
    }

    func int(_ key: String, required: Bool = false, expected: String, isValid: (Int) -> Bool = { _ in true }) -> Int? {
        guard let n = node(key, required: required, expected: expected) else { return nil }
        guard let text = plainScalar(n), let v = Int(text.filter { $0 != "_" }) else { wrong(key, n, expected: expected); return nil }
        guard isValid(v) else { wrong(key, n, expected: expected, kind: .outOfRange); return nil }
        return v
    }

    func double(_ key: String, required: Bool = false, expected: String = "a number", isValid: (Double) -> Bool = { _ in true }) -> Double? {
        guard let n = node(key, required: required, expected: expected) else { return nil }
        guard let text = plainScalar(n), let v = Double(text), v.isFinite else { wrong(key, n, expected: expected); return nil }
        guard isValid(v) else { wrong(key, n, expected: expected, kind: .outOfRange); return nil }
        return v
    }

    func bool(_ key: String, required: Bool = false) -> Bool? {
        guard let n = node(key, required: required, expected: "true or false") else { return nil }
        guard let b = scalarBool(n) else { wrong(key, n, expected: "true or false"); return nil }
        return b
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type, required: Bool = false) -> E? where E.RawValue == String {
        let expected = "one of " + E.allCases.map(\.rawValue).joined(separator: ", ")
        guard let n = node(key, required: required, expected: expected) else { return nil }
        guard let s = scalarString(n), let v = E(rawValue: s) else { wrong(key, n, expected: expected); return nil }
        return v
    }

    func list(_ key: String) -> [(Node, String)]? {
        guard let n = node(key) else { return nil }
        guard case .sequence(let s) = n else { wrong(key, n, expected: "a list"); return nil }
        return s.enumerated().map { ($1, path.key(key) + "[\($0)]") }
    }
}

func plainScalar(_ node: Node) -> String? {
    guard case .scalar(let s) = node, s.style == .plain else { return nil }
    return s.string
}

func scalarString(_ node: Node) -> String? {
    guard case .scalar(let s) = node else { return nil }
    if s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return nil }
    return s.string
}

func scalarBool(_ node: Node) -> Bool? {
    switch plainScalar(node) {
    case "true", "True", "TRUE": return true
    case "false", "False", "FALSE": return false
    default: return nil
    }
}

func describe(_ node: Node?) -> String {
    switch node {
    case nil: return "nothing"
    case .scalar(let s)?: return quoted(s.string)
    case .mapping?: return "a mapping"
    case .sequence?: return "a list"
    case .alias?: return "an alias"
    }
}

func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
}

extension String {
    func key(_ name: String) -> String { isEmpty ? name : self + "." + name }
}
