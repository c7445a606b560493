import VigilCore

/// A plant as decoded, plus where each element sits in the file, for the checks that follow decoding.
struct DecodedPlant {
    var name: String?
    var board: String?
    var signals: [(NamedSignal, path: String)] = []
    var process: [(ProcessSignal, path: String)] = []
    var devices: [(DeviceConfig, path: String, pointPaths: [String])] = []
    var sensors: [(SensorConfig, path: String)] = []
    var groups: [(RedundancyGroupConfig, path: String)] = []
    var outputs: [(OutputConfig, path: String)] = []
    var limits: [(LimitConfig, path: String)] = []
    var cycle = CycleConfig()
    var controls: [(ControlConfig, path: String)] = []
    var monitor = MonitorSettings()
    var sections: [(SectionConfig, path: String)] = []
    var console: ConsoleConfig?
    var mqtt: MQTTConfig?
    var metrics = MetricsConfig()
    /// Ids of elements that exist in the file but failed to decode (`device:x`, `point:dev/x`,
    /// `sensor:x`, `output:x`, `signal:x`): references to them are not reported again.
    var broken: Set<String> = []
    /// Every id as written, decoded element or not, by namespace (`device`, `point:plc`, `sensor`, …),
    /// so duplicates are found even among elements with other errors.
    var declared: [String: [(id: String, path: String)]] = [:]

    mutating func declare(_ namespace: String, _ id: String?, at path: String) {
        if let id { declared[namespace, default: []].append((id, path)) }
    }

    var config: PlantConfig? {
        guard let name else { return nil }
        var plant = PlantConfig(name: name, board: board, devices: devices.map(\.0), sensors: sensors.map(\.0),
                           redundancyGroups: groups.map(\.0), outputs: outputs.map(\.0), limits: limits.map(\.0),
                           simulationSignals: signals.map(\.0), cycle: cycle, controls: controls.map(\.0))
        plant.processSignals = process.map(\.0)
        plant.monitor = monitor
        plant.sections = sections.map(\.0)
        plant.console = console
        plant.mqtt = mqtt
        plant.metrics = metrics
        return plant
    }
}
