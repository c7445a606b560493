import VigilCore
import Yams

/// The `cycle:` block and `controls:`.
extension PlantDecoder {
    static let cycleKeys = ["period_ms", "overrun_storm_limit", "watchdog_periods", "realtime"]
    static let realtimeKeys = ["sched_fifo_priority", "lock_memory", "cpu", "timer_slack_ns", "spin_us"]
    static let controlKeys = ["id", "input", "output", "mode", "on_off", "pid"]
    static let onOffKeys = ["on_at", "off_at", "on_value", "off_value"]
    static let pidKeys = ["setpoint", "kp", "ki", "kd", "output_min", "output_max", "action"]

    /// Missing keys keep `CycleConfig`'s defaults; a wrong value is reported and also falls back to its default.
    static func decodeCycle(_ node: Node?, path: String, sink: DiagnosticSink) -> CycleConfig {
        var cycle = CycleConfig()
        guard let map = MappingReader(node, path: path, allowed: cycleKeys, sink: sink) else { return cycle }
        if let node = map.node("period_ms", expected: "") {
            if let ms = ScalarValue.double(node) {
                if ms < 1 {
                    map.wrong("period_ms", node, expected: "at least 1 ms: the cycle cannot run faster than 1 ms", kind: .outOfRange)
                } else if ms > 10_000 {
                    map.wrong("period_ms", node, expected: "a period in 1...10000 ms", kind: .outOfRange)
                } else {
                    cycle.periodMicroseconds = Int((ms * 1000).rounded())
                }
            } else {
                map.wrongType("period_ms", node, expected: "a number of milliseconds in 1...10000 (fractions allowed)")
            }
        }
        if let storm = map.int("overrun_storm_limit", in: 1...1000) { cycle.overrunStormLimit = storm }
        if let watchdog = map.int("watchdog_periods", in: 2...1000) { cycle.watchdogPeriods = watchdog }
        if map.has("realtime"),
           let rt = MappingReader(map.node("realtime", expected: ""), path: path.key("realtime"), allowed: realtimeKeys, sink: sink) {
            cycle.realtime.schedFIFOPriority = rt.int("sched_fifo_priority", in: 1...99)
            if let lock = rt.bool("lock_memory") { cycle.realtime.lockMemory = lock }
            cycle.realtime.cpu = rt.int("cpu", in: 0...Int.max)
            if let slack = rt.int("timer_slack_ns", in: 1...Int.max) { cycle.realtime.timerSlackNanoseconds = slack }
            let period = cycle.periodMicroseconds
            if let spin = rt.int("spin_us", required: false, expected: "an integer in 0...\(period) (at most the period, \(period) µs)",
                                 isValid: { (0...period).contains($0) }) {
                cycle.realtime.spinMicroseconds = spin
            }
        }
        return cycle
    }

    static func decodeControl(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        guard let map = MappingReader(node, path: path, allowed: controlKeys, sink: sink) else { return }
        let id = map.string("id", required: true, expected: "the control's id")
        plant.declare("control", id, at: path.key("id"))
        let input = map.string("input", required: true, expected: "a sensor or redundancy group id")
        let output = map.string("output", required: true, expected: "an output id")
        let mode = map.choice("mode", ControlMode.self)
        let errorsBefore = sink.diagnostics.count
        let law = decodeLaw(map)
        let modeIsValid = !map.has("mode") || mode != nil
        guard let id, let input, let output, let law, modeIsValid, sink.diagnostics.count == errorsBefore else { return }
        plant.controls.append((ControlConfig(id: id, input: input, output: output, law: law, mode: mode ?? .auto), path))
    }

    /// Exactly one of `on_off:` and `pid:`.
    private static func decodeLaw(_ map: MappingReader) -> ControlLaw? {
        switch (map.has("on_off"), map.has("pid")) {
        case (true, true):
            map.sink.report(.inconsistent, at: map.node("pid", expected: "")?.mark, map.path.key("pid"),
                            found: "both on_off and pid", expected: "one control law per control")
            return nil
        case (false, false):
            map.sink.report(.missingKey, at: map.mark, map.path.key("on_off"), found: "nothing",
                            expected: "a control law: an on_off or a pid block")
            return nil
        case (true, false):
            guard let law = MappingReader(map.node("on_off", expected: ""), path: map.path.key("on_off"), allowed: onOffKeys,
                                          sink: map.sink) else { return nil }
            let onAt = law.double("on_at", required: true, expected: "the input value that switches the output on")
            let offAt = law.double("off_at", required: true, expected: "the input value that switches the output off")
            let defaults = OnOffLaw(onAt: 0, offAt: 1)
            let onValue = law.double("on_value")
            let offValue = law.double("off_value")
            guard let onAt, let offAt else { return nil }
            if onAt == offAt {
                law.wrong("off_at", law.node("off_at", expected: "")!,
                          expected: "a value other than on_at (\(format(onAt))): the difference is the hysteresis", kind: .outOfRange)
                return nil
            }
            return .onOff(OnOffLaw(onAt: onAt, offAt: offAt, onValue: onValue ?? defaults.onValue, offValue: offValue ?? defaults.offValue))
        case (false, true):
            guard let law = MappingReader(map.node("pid", expected: ""), path: map.path.key("pid"), allowed: pidKeys,
                                          sink: map.sink) else { return nil }
            let errorsBefore = map.sink.diagnostics.count
            let setpoint = law.double("setpoint", required: true, expected: "the value to hold, in the input's unit")
            let gain = "a gain ≥ 0"
            let kp = law.double("kp", required: true, expected: gain) { $0 >= 0 }
            let ki = law.double("ki", expected: "a gain ≥ 0 (per second)") { $0 >= 0 }
            let kd = law.double("kd", expected: "a gain ≥ 0 (seconds)") { $0 >= 0 }
            let outputMin = law.double("output_min")
            let outputMax = law.double("output_max")
            let action = law.choice("action", PIDLaw.Action.self)
            let defaults = PIDLaw(setpoint: 0, kp: 0)
            let low = outputMin ?? defaults.outputMin, high = outputMax ?? defaults.outputMax
            if low >= high {
                let key = law.has("output_max") ? "output_max" : "output_min"
                law.wrong(key, law.node(key, expected: "")!,
                          expected: key == "output_max" ? "a number > output_min (\(format(low)))" : "a number < output_max (\(format(high)))",
                          kind: .outOfRange)
                return nil
            }
            guard let setpoint, let kp, map.sink.diagnostics.count == errorsBefore else { return nil }
            return .pid(PIDLaw(setpoint: setpoint, kp: kp, ki: ki ?? 0, kd: kd ?? 0, outputMin: low, outputMax: high,
                               action: action ?? .reverse))
        }
    }
}
