import VigilCore

/// The Sparkplug datatypes Vigil's metrics use, with the specification's numbers.
public enum SparkplugMetricType: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case int32 = 3, int64 = 4, double = 10, boolean = 11, string = 12

    public var description: String {
        switch self {
        case .int32: return "Int32"
        case .int64: return "Int64"
        case .double: return "Double"
        case .boolean: return "Boolean"
        case .string: return "String"
        }
    }
}

/// A metric's value; `null` is sent as `is_null` (an unread sensor, no trust score yet).
public enum SparkplugValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    case int32(Int32)
    case int64(Int64)
    case double(Double)
    case string(String)

    /// A Double metric's value: non-finite values are `null`.
    public static func number(_ value: Double) -> SparkplugValue { value.isFinite ? .double(value) : .null }
}

/// What a metric reports; indices are into the plant config's arrays.
public enum SparkplugMetricRole: Sendable, Hashable {
    case bdSeq, rebirth
    case safeState, safeStateReasons, trippedInterlocks, activeAlarms, annunciatedAlarms, trustScore, modelVersion
    case groupValue(Int), groupActiveSource(Int)
    case monitorEvent, alarmEvent
    case sensorValue(Int), sensorQuality(Int), sensorHealth(Int)
    case outputValue(Int)
}

/// One metric of the edge node or of one of its devices.
public struct SparkplugMetric: Sendable, Hashable {
    public var name: String
    /// Sent with the name in BIRTH messages and alone in DATA (unique across the node and its devices, from 1).
    public var alias: UInt64
    public var type: SparkplugMetricType
    public var role: SparkplugMetricRole
    /// Engineering unit, sent as the `engUnit` property in BIRTH messages.
    public var unit: String?
    /// Physically possible range, sent as the `engLow`/`engHigh` properties in BIRTH messages.
    public var low: Double?
    public var high: Double?
    /// Whether a host may write it (NCMD/DCMD); sent as the `writable` property of outputs.
    public var writable: Bool
    /// Double metrics: a change of no more than this (absolute) is not reported; 0 reports every change.
    public var deadband: Double
}

/// A Sparkplug device of the edge node and its metrics.
public struct SparkplugDeviceLayout: Sendable, Hashable {
    public var id: String
    public var metrics: [SparkplugMetric]
}

/// Why a layout could not be built from a plant.
public enum SparkplugLayoutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A group, edge node or device id that cannot be a topic level.
    case invalidID(SparkplugTopicError)
    /// A plant device is named like the device that carries GPIO sensors and outputs.
    case gpioDeviceIDTaken(String)
    /// A writable output that is not an output of the plant.
    case unknownWritableOutput(String)
    /// A deadband keyed by an id that is no sensor, group or output of the plant.
    case unknownDeadbandKey(String)
    /// A deadband that is negative or not finite.
    case invalidDeadband(key: String, value: Double)

    public var description: String {
        switch self {
        case .invalidID(let error): return error.description
        case .gpioDeviceIDTaken(let id): return "plant device '\(id)' has the name of the GPIO Sparkplug device"
        case .unknownWritableOutput(let id): return "writable output '\(id)' is not an output of the plant"
        case .unknownDeadbandKey(let key): return "deadband for '\(key)': no sensor, group or output has that id"
        case .invalidDeadband(let key, let value): return "deadband for '\(key)' is \(value): must be finite and ≥ 0"
        }
    }
}

/// The edge node's metrics, derived from a plant: node-level controller state, redundancy groups and
/// events; one Sparkplug device per Modbus device (its sensors and outputs), and a device `gpio` for
/// GPIO sensors and outputs. Names and types are listed in docs/SPARKPLUG.md.
public struct SparkplugLayout: Sendable, Hashable {
    /// The Sparkplug device that carries GPIO sensors and outputs.
    public static let gpioDeviceID = "gpio"

    public let groupID: String
    public let edgeNodeID: String
    public let nodeMetrics: [SparkplugMetric]
    /// Devices in plant order (the `gpio` device last); a plant device with no sensor or output has none.
    public let devices: [SparkplugDeviceLayout]
    /// Counts of the plant arrays an `EdgeSample` must match.
    public let sensorCount: Int
    public let groupCount: Int
    public let outputCount: Int
    /// Sensor and output ids in plant order.
    public let sensorIDs: [String]
    public let outputIDs: [String]

    /// Builds the layout. `writableOutputs`: ids of outputs a host may write (DCMD); `deadbands`:
    /// absolute deadbands keyed by sensor, group or output id (the others report every change).
    public init(plant: PlantConfig, groupID: String, edgeNodeID: String, writableOutputs: Set<String> = [],
                deadbands: [String: Double] = [:]) throws(SparkplugLayoutError) {
        do {
            try SparkplugTopic.validate(groupID, role: "group")
            try SparkplugTopic.validate(edgeNodeID, role: "edge node")
            for device in plant.devices { try SparkplugTopic.validate(device.id, role: "device") }
        } catch { throw .invalidID(error) }
        if plant.devices.contains(where: { $0.id == Self.gpioDeviceID }) {
            let usesGPIO = plant.sensors.contains { if case .gpio = $0.source { true } else { false } }
                || plant.outputs.contains { if case .gpio = $0.target { true } else { false } }
            if usesGPIO { throw .gpioDeviceIDTaken(Self.gpioDeviceID) }
        }
        let outputIDs = Set(plant.outputs.map(\.id))
        if let unknown = writableOutputs.sorted().first(where: { !outputIDs.contains($0) }) { throw .unknownWritableOutput(unknown) }
        let keyed = Set(plant.sensors.map(\.id)).union(plant.redundancyGroups.map(\.id)).union(outputIDs)
        for (key, value) in deadbands.sorted(by: { $0.key < $1.key }) {
            guard keyed.contains(key) else { throw .unknownDeadbandKey(key) }
            guard value.isFinite, value >= 0 else { throw .invalidDeadband(key: key, value: value) }
        }

        var alias: UInt64 = 0
        func metric(_ name: String, _ type: SparkplugMetricType, _ role: SparkplugMetricRole, unit: String? = nil,
                    low: Double? = nil, high: Double? = nil, writable: Bool = false, deadband: Double = 0) -> SparkplugMetric {
            alias += 1
            return SparkplugMetric(name: name, alias: alias, type: type, role: role, unit: unit, low: low, high: high,
                                   writable: writable, deadband: deadband)
        }

        var node = [metric("bdSeq", .int64, .bdSeq)]
        node.append(metric("Node Control/Rebirth", .boolean, .rebirth, writable: true))
        node.append(metric("Controller/Safe State", .boolean, .safeState))
        node.append(metric("Controller/Safe State Reasons", .string, .safeStateReasons))
        node.append(metric("Controller/Tripped Interlocks", .string, .trippedInterlocks))
        node.append(metric("Controller/Active Alarms", .int32, .activeAlarms))
        node.append(metric("Controller/Annunciated Alarms", .int32, .annunciatedAlarms))
        node.append(metric("Controller/Trust Score", .double, .trustScore))
        node.append(metric("Controller/Model Version", .int64, .modelVersion))
        for (g, group) in plant.redundancyGroups.enumerated() {
            let primary = plant.sensors.first { $0.id == group.primary }
            node.append(metric("Groups/\(group.id)/Value", .double, .groupValue(g), unit: primary?.unit,
                               low: primary?.rangeMin, high: primary?.rangeMax, deadband: deadbands[group.id] ?? 0))
            node.append(metric("Groups/\(group.id)/Active Source", .string, .groupActiveSource(g)))
        }
        node.append(metric("Events/Monitor", .string, .monitorEvent))
        node.append(metric("Events/Alarm", .string, .alarmEvent))

        var devices: [SparkplugDeviceLayout] = []
        for deviceID in plant.devices.map(\.id) + [Self.gpioDeviceID] {
            var metrics: [SparkplugMetric] = []
            for (s, sensor) in plant.sensors.enumerated() {
                switch sensor.source {
                case .point(let device, _) where device == deviceID: break
                case .gpio where deviceID == Self.gpioDeviceID: break
                default: continue
                }
                metrics.append(metric("Sensors/\(sensor.id)/Value", .double, .sensorValue(s), unit: sensor.unit,
                                      low: sensor.rangeMin, high: sensor.rangeMax, deadband: deadbands[sensor.id] ?? 0))
                metrics.append(metric("Sensors/\(sensor.id)/Quality", .string, .sensorQuality(s)))
                metrics.append(metric("Sensors/\(sensor.id)/Health", .string, .sensorHealth(s)))
            }
            for (o, output) in plant.outputs.enumerated() {
                switch output.target {
                case .point(let device, _) where device == deviceID: break
                case .gpio where deviceID == Self.gpioDeviceID: break
                default: continue
                }
                metrics.append(metric("Outputs/\(output.id)/Value", .double, .outputValue(o),
                                      writable: writableOutputs.contains(output.id), deadband: deadbands[output.id] ?? 0))
            }
            if !metrics.isEmpty { devices.append(SparkplugDeviceLayout(id: deviceID, metrics: metrics)) }
        }

        self.groupID = groupID
        self.edgeNodeID = edgeNodeID
        self.nodeMetrics = node
        self.devices = devices
        self.sensorCount = plant.sensors.count
        self.groupCount = plant.redundancyGroups.count
        self.outputCount = plant.outputs.count
        self.sensorIDs = plant.sensors.map(\.id)
        self.outputIDs = plant.outputs.map(\.id)
    }

    /// The index of a device in `devices`.
    public func deviceIndex(_ id: String) -> Int? { devices.firstIndex { $0.id == id } }

    /// A topic of this edge node (a device one when `device` is given); the ids are valid by construction.
    public func topic(_ type: SparkplugMessageType, device: String? = nil) -> SparkplugTopic {
        // The layout validated the group, edge node and device ids; only a type/device mismatch can throw.
        do { return try SparkplugTopic(type, group: groupID, edgeNode: edgeNodeID, device: device) } catch {
            preconditionFailure("SparkplugLayout.topic: \(error)")
        }
    }
}
