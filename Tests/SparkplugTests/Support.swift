import Foundation
import Sparkplug
import SwiftProtobuf
import VigilCore

/// A plant with two Modbus devices, a GPIO sensor and output, one redundancy group and one device with nothing on it.
let testPlant = PlantConfig(
    name: "station",
    devices: [DeviceConfig(id: "pump", transport: .tcp(host: "127.0.0.1", port: 1502)),
              DeviceConfig(id: "tank", transport: .rtu(RTUSettings(port: "/dev/ttyUSB0"))),
              DeviceConfig(id: "spare", transport: .tcp(host: "127.0.0.1", port: 1503))],
    sensors: [SensorConfig(id: "pt1", source: .point(device: "pump", point: "p1"), rangeMin: 0, rangeMax: 16, unit: "bar", quantity: "pressure"),
              SensorConfig(id: "pt2", source: .point(device: "pump", point: "p2"), rangeMin: 0, rangeMax: 16, unit: "bar", quantity: "pressure"),
              SensorConfig(id: "lt1", source: .point(device: "tank", point: "l1"), rangeMin: 0, rangeMax: 4, unit: "m"),
              SensorConfig(id: "door", source: .gpio(GPIOInputSettings(line: "GPIO5")), rangeMin: 0, rangeMax: 1)],
    redundancyGroups: [RedundancyGroupConfig(id: "pressure", quantity: "pressure", primary: "pt1", backups: ["pt2"])],
    outputs: [OutputConfig(id: "speed", target: .point(device: "pump", point: "s"), initial: 0, safe: 0),
              OutputConfig(id: "valve", target: .point(device: "tank", point: "v"), initial: 0, safe: 0),
              OutputConfig(id: "lamp", target: .gpio(line: "GPIO17", activeLow: false), initial: 0, safe: 0)])

func testLayout(deadbands: [String: Double] = ["pt1": 0.5, "pressure": 0.2]) throws -> SparkplugLayout {
    try SparkplugLayout(plant: testPlant, groupID: "plant", edgeNodeID: "vigil-1", writableOutputs: ["speed", "lamp"], deadbands: deadbands)
}

/// A sample with every sensor good and healthy.
func testSample(_ t: UInt64, pt1: Double = 5, pt2: Double = 5.1, lt1: Double = 2, door: Double = 0,
                speed: Double = 40, valve: Double = 1, lamp: Double = 0) -> EdgeSample {
    EdgeSample(timestamp: t, sensorValues: [pt1, pt2, lt1, door], sensorQualities: Array(repeating: "good", count: 4),
               sensorHealth: Array(repeating: "healthy", count: 4), groupValues: [pt1], groupActiveSources: ["pt1"],
               outputs: [speed, valve, lamp], trustScore: 0.9, modelVersion: 3)
}

func decodePayload(_ bytes: [UInt8]) throws -> SparkplugPayload { try SparkplugPayload(serializedBytes: bytes) }

/// The metric of a decoded payload with this name (BIRTH) or the alias of this name in `layout` (DATA).
func metric(_ payload: SparkplugPayload, _ name: String, in layout: SparkplugLayout) -> SparkplugPayload.Metric? {
    let alias = (layout.nodeMetrics + layout.devices.flatMap(\.metrics)).first { $0.name == name }?.alias
    return payload.metrics.first { ($0.hasName && $0.name == name) || (!$0.hasName && $0.hasAlias && $0.alias == alias) }
}

func commandPayload(_ metrics: [SparkplugPayload.Metric]) throws -> [UInt8] {
    var payload = SparkplugPayload()
    payload.timestamp = 1_700_000_000_000
    payload.metrics = metrics
    return try payload.serializedBytes()
}

func commandMetric(name: String? = nil, alias: UInt64? = nil, datatype: UInt32? = nil,
                   _ set: (inout SparkplugPayload.Metric) -> Void) -> SparkplugPayload.Metric {
    var m = SparkplugPayload.Metric()
    if let name { m.name = name }
    if let alias { m.alias = alias }
    if let datatype { m.datatype = datatype }
    set(&m)
    return m
}
