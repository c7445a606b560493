import VigilCore
import Yams

/// Sensors, redundancy groups, outputs and limits.
extension PlantDecoder {
    static func decodeSensor(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        guard let map = MappingReader(node, path: path, allowed: ["id", "device", "point", "gpio", "range", "unit", "quantity"],
                                      sink: sink) else { return }
        let id = map.string("id", required: true, expected: "the sensor's id")
        plant.declare("sensor", id, at: path.key("id"))
        let source = decodeSource(map, what: "sensor")
        let range = decodeRange(map)
        let unit = map.string("unit")
        let quantity = map.string("quantity")
        guard let id else { return }
        guard let source, let range else {
            plant.broken.insert("sensor:" + id)
            return
        }
        plant.sensors.append((SensorConfig(id: id, source: source, rangeMin: range.0, rangeMax: range.1,
                                           unit: unit, quantity: quantity), path))
    }

    /// `device` + `point`, or a `gpio:` block, but not both.
    private static func decodeSource(_ map: MappingReader, what: String) -> SensorSource? {
        let hasPoint = map.has("device") || map.has("point")
        if hasPoint && map.has("gpio") {
            map.sink.report(.inconsistent, at: map.node("gpio", expected: "")?.mark, map.path.key("gpio"),
                            found: "both device/point and gpio", expected: "one source per \(what)")
            return nil
        }
        if map.has("gpio") {
            let path = map.path.key("gpio")
            guard let gpio = MappingReader(map.node("gpio", expected: ""), path: path,
                                           allowed: ["line", "active_low", "bias", "debounce_ms"], sink: map.sink) else { return nil }
            let line = gpio.string("line", required: true, expected: "a GPIO line name from the board file")
            let activeLow = gpio.bool("active_low")
            let bias = gpio.choice("bias", GPIOBias.self)
            let debounce = gpio.int("debounce_ms", in: 0...60_000)
            guard let line else { return nil }
            return .gpio(GPIOInputSettings(line: line, activeLow: activeLow ?? false, bias: bias ?? .asIs,
                                           debounceMilliseconds: debounce ?? 0))
        }
        guard hasPoint else {
            map.sink.report(.missingKey, at: map.mark, map.path.key("device"), found: "nothing",
                            expected: "device and point, or a gpio block")
            return nil
        }
        let device = map.string("device", required: true, expected: "a device id")
        let point = map.string("point", required: true, expected: "a point id of the device")
        guard let device, let point else { return nil }
        return .point(device: device, point: point)
    }

    private static func decodeRange(_ map: MappingReader) -> (Double, Double)? {
        let expected = "[min, max] with min < max"
        guard let node = map.node("range", required: true, expected: expected) else { return nil }
        guard case .sequence(let items) = node, items.count == 2 else {
            map.wrong("range", node, expected: expected)
            return nil
        }
        // Each bound on its own, so `[.nan, 60]` says which one is wrong and why.
        let bounds = items.enumerated().map { i, item -> Double? in
            guard let value = ScalarValue.double(item) else {
                map.sink.report(.wrongType, at: item.mark, map.path.key("range").index(i), found: describe(item),
                                expected: "a finite number (\(i == 0 ? "min" : "max") of \(expected))")
                return nil
            }
            return value
        }
        guard let low = bounds[0], let high = bounds[1] else { return nil }
        guard low < high else {
            map.sink.report(.outOfRange, at: node.mark, map.path.key("range"), found: "[\(format(low)), \(format(high))]", expected: expected)
            return nil
        }
        return (low, high)
    }

    static func decodeGroup(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        guard let map = MappingReader(node, path: path, allowed: ["id", "quantity", "primary", "backups"], sink: sink) else { return }
        let id = map.string("id", required: true, expected: "the group's id")
        plant.declare("sensor", id, at: path.key("id"))
        let quantity = map.string("quantity")
        let primary = map.string("primary", required: true, expected: "a sensor id")
        let backups = map.stringList("backups", required: true, expected: "sensor ids")
        if let backups, backups.isEmpty {
            map.wrong("backups", map.node("backups", expected: "")!, expected: "at least one backup sensor", kind: .outOfRange)
        }
        guard let id, let primary, let backups, !backups.isEmpty else { return }
        plant.groups.append((RedundancyGroupConfig(id: id, quantity: quantity, primary: primary, backups: backups), path))
    }

    static func decodeOutput(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        guard let map = MappingReader(node, path: path, allowed: ["id", "device", "point", "gpio", "initial", "safe"],
                                      sink: sink) else { return }
        let id = map.string("id", required: true, expected: "the output's id")
        plant.declare("output", id, at: path.key("id"))
        let target = decodeTarget(map)
        let safe = map.double("safe", required: true, expected: "a safe value, written when the plant is unsafe (never defaulted)")
        let initial = map.double("initial")
        guard let id else { return }
        guard let target, let safe else {
            plant.broken.insert("output:" + id)
            return
        }
        plant.outputs.append((OutputConfig(id: id, target: target, initial: initial ?? safe, safe: safe), path))
    }

    private static func decodeTarget(_ map: MappingReader) -> OutputTarget? {
        if map.has("gpio"), !map.has("device"), !map.has("point") {
            guard let gpio = MappingReader(map.node("gpio", expected: ""), path: map.path.key("gpio"),
                                           allowed: ["line", "active_low"], sink: map.sink) else { return nil }
            let line = gpio.string("line", required: true, expected: "a GPIO line name from the board file")
            let activeLow = gpio.bool("active_low")
            return line.map { .gpio(line: $0, activeLow: activeLow ?? false) }
        }
        guard case .point(let device, let point)? = decodeSource(map, what: "output") else { return nil }
        return .point(device: device, point: point)
    }

    static func decodeLimit(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        guard let map = MappingReader(node, path: path, allowed: ["id", "subject", "low", "high", "severity", "safe_outputs", "bad_input_delay_s"],
                                      sink: sink) else { return }
        let id = map.string("id", required: true, expected: "the limit's id")
        plant.declare("limit", id, at: path.key("id"))
        let subject = map.string("subject", required: true, expected: "a sensor or redundancy group id")
        let low = map.double("low")
        let high = map.double("high")
        let severity = map.choice("severity", LimitSeverity.self)
        let outputs = map.stringList("safe_outputs", expected: "output ids")
        let delay = map.double("bad_input_delay_s", expected: "seconds in 0...60") { (0...60).contains($0) }
        var valid = true
        if !map.has("low") && !map.has("high") {
            sink.report(.missingKey, at: map.mark, path.key("high"), found: "neither low nor high", expected: "low, high or both")
            valid = false
        }
        if let low, let high, low >= high {
            map.wrong("high", map.node("high", expected: "")!, expected: "a number > low (\(format(low)))", kind: .outOfRange)
            valid = false
        }
        if severity == .interlock, outputs?.isEmpty ?? true {
            sink.report(.missingKey, at: map.node("safe_outputs", expected: "")?.mark ?? map.mark, path.key("safe_outputs"),
                        found: outputs == nil ? "nothing" : "an empty list", expected: "at least one output for severity interlock")
            valid = false
        }
        let effectiveSeverity = map.has("severity") ? severity : .alarm
        if let effectiveSeverity, effectiveSeverity != .interlock, let outputs, !outputs.isEmpty {
            map.wrong("safe_outputs", map.node("safe_outputs", expected: "")!, expected: "safe_outputs only with severity interlock",
                      kind: .inconsistent)
            valid = false
        }
        if let effectiveSeverity, effectiveSeverity != .interlock, map.has("bad_input_delay_s") {
            map.wrong("bad_input_delay_s", map.node("bad_input_delay_s", expected: "")!,
                      expected: "bad_input_delay_s only with severity interlock (other limits keep their condition on a bad input)",
                      kind: .inconsistent)
            valid = false
        }
        guard valid, let id, let subject else { return }
        plant.limits.append((LimitConfig(id: id, subject: subject, low: low, high: high, severity: severity ?? .alarm,
                                         safeOutputs: outputs ?? [], badInputDelaySeconds: delay ?? 0), path))
    }
}

/// Numbers in messages: `16` rather than `16.0`.
func format(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}
