import Foundation
import Testing
import Fieldbus
import HIL
import VigilCore

/// 64-bit integer points keep the integer the device holds (a Double is exact only to 2^53).
@Suite("Exact 64-bit integers")
struct ExactIntegerTests {
    static let config = DeviceConfig(id: "counters", transport: .tcp(host: "127.0.0.1", port: 0), unitID: 1, points: [
        PointConfig(id: "energy_wh", function: .holding, address: 0, type: .uint64),
        PointConfig(id: "signed", function: .holding, address: 4, type: .int64, order: .cdab),
        PointConfig(id: "scaled", function: .holding, address: 8, type: .uint64, scale: 0.001),
    ])

    @Test func aUInt64AboveTwoToThe53IsReadDigitForDigit() throws {
        let plant = PlantConfig(name: "exact", devices: [Self.config])
        let sim = try SimulatedModbusDevice(config: Self.config, model: PlantModel(plant: plant, seed: 1))
        defer { sim.stop() }
        let port = try sim.serveTCP()
        // An independent libmodbus client writes the registers (function 16).
        let writer = try RawClient.tcp(port: port)
        _ = try writer.writeRegisters(0, [0x0102, 0x0304, 0x0506, 0x0708]).get()
        // -81985529216486896 = 0xFEDCBA9876543210, low word first (CDAB).
        _ = try writer.writeRegisters(4, [0x3210, 0x7654, 0xBA98, 0xFEDC]).get()
        _ = try writer.writeRegisters(8, [0x0102, 0x0304, 0x0506, 0x0708]).get()

        var device = Self.config
        device.transport = .tcp(host: "127.0.0.1", port: port)
        let clock = SystemMonotonicClock()
        let poller = DevicePoller(device: device, link: ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: port), clock: clock), clock: clock)
        poller.poll()
        #expect(poller.readings.allSatisfy { $0.quality == .good })
        #expect(poller.rawValue(at: 0) == .uint(0x0102_0304_0506_0708))
        #expect(poller.rawValue(at: 0)?.exactText == "72623859790382856")
        // The engineering value is a Double: the nearest one, 8 below.
        #expect(poller.reading(at: 0).value == 72623859790382848)
        #expect(poller.rawValue(at: 1) == .int(-81985529216486896))
        #expect(poller.rawValue(at: 1)?.exactText == "-81985529216486896")
        #expect(poller.rawValue(at: 2) == .uint(0x0102_0304_0506_0708), "the raw integer is kept beside a scaled value")
    }
}
