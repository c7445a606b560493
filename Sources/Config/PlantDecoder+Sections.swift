import VigilCore
import Yams

/// `sections:`, plant sections for the multivariate monitor.
extension PlantDecoder {
    static let sectionKeys = ["id", "sensors", "training_samples", "training_seconds", "persistence", "persistence_window",
                              "clear_persistence", "variance_to_keep", "false_alarm_rate", "update_lambda", "refit_interval", "lags",
                              "scaling", "limits", "ewma_lambda"]

    static func decodeSection(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        guard let map = MappingReader(node, path: path, allowed: sectionKeys, sink: sink) else { return }
        let id = map.string("id", required: true, expected: "the section's id")
        plant.declare("section", id, at: path.key("id"))
        let errorsBefore = sink.diagnostics.count
        let sensors = map.stringList("sensors", required: true, expected: "sensor ids (at least 2)")
        if let sensors, sensors.count < 2 {
            map.wrong("sensors", map.node("sensors", expected: "")!, expected: "at least 2 sensor ids: a section watches sensors together",
                      kind: .outOfRange)
        }
        let lags = map.int("lags", in: 0...16)
        let persistence = map.int("persistence", in: 1...10_000)
        let window = map.int("persistence_window", expected: "an integer in \(persistence ?? 3)...64 (at least persistence)") {
            (max(1, persistence ?? 3)...64).contains($0)
        }
        let clear = map.int("clear_persistence", in: 1...100_000)
        let variance = map.double("variance_to_keep", expected: "a share in (0, 1)") { $0 > 0 && $0 < 1 }
        let alpha = map.double("false_alarm_rate", expected: "a probability in (0, 0.5)") { $0 > 0 && $0 < 0.5 }
        let lambda = map.double("update_lambda", expected: "a weight in 0...0.1 (0 disables the slow update)") { (0...0.1).contains($0) }
        let refit = map.int("refit_interval", in: 10...100_000_000)
        let scaling = map.choice("scaling", SectionConfig.Scaling.self)
        let limits = map.choice("limits", SectionConfig.Limits.self)
        let ewma = map.double("ewma_lambda", expected: "a weight in 0...0.5 (0: no EWMA statistics)") { (0...0.5).contains($0) }
        // The section as far as decoded, with defaults: its training minimum and default count depend on lags, limits and α.
        let shape = SectionConfig(id: id ?? "", sensors: sensors ?? [], falseAlarmRate: alpha ?? SectionConfig.defaultFalseAlarmRate,
                                  lags: lags ?? 0, limits: limits ?? SectionConfig.defaultLimits)
        let minimum = shape.requiredTrainingSamples
        let inSample = shape.limits == .inSample ? ", with in_sample limits also 10 / false_alarm_rate" : ""
        let training = map.int("training_samples", required: false,
                               expected: "an integer in \(minimum)...10000000 (at least max(50, 2 × sensors × (lags + 1)) + lags\(inSample))",
                               isValid: { (minimum...10_000_000).contains($0) })
        let seconds = map.double("training_seconds", expected: "a number of seconds in (0, 1000000]") { $0 > 0 && $0 <= 1_000_000 }
        if map.has("training_samples"), map.has("training_seconds") {
            map.sink.report(.inconsistent, at: map.node("training_seconds", expected: "")?.mark, path.key("training_seconds"),
                            found: "both training_samples and training_seconds",
                            expected: "one of them: a section learns a number of samples or for a time")
        }
        guard let id, let sensors, sensors.count >= 2, sink.diagnostics.count == errorsBefore else { return }
        plant.sections.append((SectionConfig(
            id: id, sensors: sensors, trainingSamples: training ?? shape.trainingSamples, trainingSeconds: seconds,
            persistence: persistence ?? shape.persistence, persistenceWindow: window, clearPersistence: clear ?? shape.clearPersistence,
            varianceToKeep: variance ?? shape.varianceToKeep, falseAlarmRate: alpha ?? shape.falseAlarmRate, updateLambda: lambda ?? shape.updateLambda,
            refitInterval: refit ?? shape.refitInterval, lags: lags ?? shape.lags, scaling: scaling ?? shape.scaling, limits: limits ?? shape.limits,
            ewmaLambda: ewma ?? shape.ewmaLambda), path))
    }
}

extension PlantValidator {
    /// A section lists sensors (not groups) that exist, each once.
    func checkSections() {
        let sensorIDs = Set(plant.sensors.map(\.0.id))
        let groupIDs = Set(plant.groups.map(\.0.id))
        for (section, path) in plant.sections {
            var seen: Set<String> = []
            for (i, sensor) in section.sensors.enumerated() {
                let sensorPath = path.key("sensors").index(i)
                if !seen.insert(sensor).inserted {
                    sink.report(.duplicate, sensorPath, found: "sensor \(quoted(sensor)) listed twice",
                                expected: "each sensor once in a section")
                } else if !sensorIDs.contains(sensor), !plant.broken.contains("sensor:" + sensor) {
                    sink.report(.unresolvedReference, sensorPath, found: quoted(sensor),
                                expected: groupIDs.contains(sensor) ? "a sensor id, not a redundancy group" : "a sensor id")
                }
            }
        }
    }
}
