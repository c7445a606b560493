import Foundation
import VigilCore
import Fieldbus
import HIL
import CommandSupport

/// Renders readings as a plain-text table a plant engineer can read at 3 a.m.
struct ReadingsTable {
    let plant: PlantConfig
    /// Sensor id by "device/point".
    private let sensorByPoint: [String: String]

    init(plant: PlantConfig) {
        self.plant = plant
        var map: [String: String] = [:]
        for s in plant.sensors {
            if case .point(let device, let point) = s.source { map["\(device)/\(point)"] = s.id }
        }
        sensorByPoint = map
    }

    func rigBanner(_ rig: SimulatedRig) -> String {
        var lines = ["Simulated rig for \(plant.name):"]
        for device in rig.plant.devices {
            switch device.transport {
            case .tcp(let host, let port): lines.append("  \(device.id): tcp \(host):\(port) unit \(device.unitID)")
            case .rtu(let s): lines.append("  \(device.id): rtu \(s.port) \(s.baud) \(s.dataBits)\(s.parity.libmodbusCharacter)\(s.stopBits) unit \(device.unitID)")
            }
        }
        return lines.joined(separator: "\n")
    }

    func render(modbus: ModbusPlant, gpio: GPIOPlant?, elapsedNanoseconds: UInt64) -> String {
        var out = String(format: "\n=== %@  t=%.1f s ===\n", plant.name, Double(elapsedNanoseconds) / 1e9)
        out += pad("POINT", 36) + pad("SENSOR", 9) + pad("VALUE", 14, right: true) + "  " + pad("UNIT", 6) + pad("QUALITY", 34) + pad("LATENCY", 10, right: true) + "\n"
        for poller in modbus.pollers {
            let s = poller.statistics
            out += "\(poller.device.id)  [\(poller.link.connection.endpoint)]  tx \(s.transactions)  timeouts \(s.timeouts)  exceptions \(s.exceptions)  crc \(s.crcOrFramingErrors)  malformed \(s.malformedReplies)  disconnects \(s.disconnects)\n"
            for (i, point) in poller.device.points.enumerated() {
                let r = poller.reading(at: i)
                out += pad("  " + point.id, 36) + pad(sensorByPoint["\(poller.device.id)/\(point.id)"] ?? "", 9)
                out += pad(format(r.value, point: point, raw: poller.rawValue(at: i)), 14, right: true) + "  " + pad(point.unit ?? "", 6)
                out += pad(r.quality.description, 34) + pad(r.latencyNanoseconds == 0 ? "-" : String(format: "%.2f ms", Double(r.latencyNanoseconds) / 1e6), 10, right: true) + "\n"
            }
        }
        if let gpio, !gpio.sensorIDs.isEmpty {
            out += "gpio\n"
            for (i, id) in gpio.sensorIDs.enumerated() {
                let r = gpio.reading(at: i)
                out += pad("  " + id, 36) + pad(id, 9) + pad(r.value.isNaN ? "-" : String(Int(r.value)), 14, right: true) + "  " + pad("", 6) + pad(r.quality.description, 34) + "\n"
            }
            for (i, id) in gpio.outputIDs.enumerated() {
                out += pad("  " + id + " (output)", 36) + pad("", 9) + pad(gpio.lastWritten(outputAt: i) ? "1" : "0", 14, right: true) + "\n"
            }
        }
        return out
    }

    /// An unscaled 64-bit integer point shows the exact integer the device holds (its Double
    /// engineering value rounds above 2^53).
    private func format(_ value: Double, point: PointConfig, raw: RawValue? = nil) -> String {
        if value.isNaN { return "-" }
        if point.scale == 1 && point.offset == 0 && (point.type == .int64 || point.type == .uint64), let raw { return raw.exactText }
        if point.type == .bool || point.function.isBit { return value != 0 ? "1" : "0" }
        if point.scale == 1 && point.offset == 0, case .float32 = point.type { return String(format: "%.4f", value) }
        if point.scale == 1 && point.offset == 0, case .float64 = point.type { return String(format: "%.3f", value) }
        if point.scale == 1 && point.offset == 0 { return String(format: "%.0f", value) }
        return String(format: "%.3f", value)
    }
}
