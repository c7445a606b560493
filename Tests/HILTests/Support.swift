import Foundation
import CModbus
import Fieldbus
import HIL
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// A small plant mirroring part of configs/demo-pump-station.yaml (built in Swift until the YAML
/// loader lands), plus a second RTU device on the same line to exercise several unit ids.
enum Fixture {
    static let signals: [NamedSignal] = [
        NamedSignal(name: "discharge_pressure", spec: SignalSpec(shape: .sine, base: 6.0, amplitude: 0.4, periodSeconds: 40)),
        NamedSignal(name: "suction_pressure", spec: SignalSpec(shape: .sine, base: 1.2, amplitude: 0.05, periodSeconds: 55)),
        NamedSignal(name: "flow", spec: SignalSpec(shape: .sine, base: 42.0, amplitude: 3.0, periodSeconds: 40)),
        NamedSignal(name: "water_temperature", spec: SignalSpec(shape: .randomWalk, base: 18.5, amplitude: 0.5, periodSeconds: 300)),
    ]

    static var pumpPLC: DeviceConfig {
        DeviceConfig(id: "pump-plc", transport: .tcp(host: "127.0.0.1", port: 15020), unitID: 1, points: [
            PointConfig(id: "discharge_pressure_a", function: .input, address: 0, type: .float32, order: .abcd, unit: "bar",
                        simulation: PointSimulation(source: .signal("discharge_pressure"), noise: 0.01)),
            PointConfig(id: "discharge_pressure_b", function: .input, address: 2, type: .float32, order: .cdab, unit: "bar",
                        simulation: PointSimulation(source: .signal("discharge_pressure"), noise: 0.01)),
            PointConfig(id: "suction_pressure", function: .input, address: 4, type: .int16, scale: 0.01, unit: "bar",
                        simulation: PointSimulation(source: .signal("suction_pressure"), noise: 0.005)),
            PointConfig(id: "flow", function: .input, address: 6, type: .uint32, order: .cdab, scale: 0.1, unit: "m3/h",
                        simulation: PointSimulation(source: .signal("flow"), noise: 0.2)),
            PointConfig(id: "pump1_speed_setpoint", function: .holding, address: 100, type: .uint16, scale: 0.1, unit: "%"),
            PointConfig(id: "pump_status_fault_bit", function: .holding, address: 110, type: .bitField(bit: 3, width: 1)),
            PointConfig(id: "pump_status_mode", function: .holding, address: 110, type: .bitField(bit: 8, width: 4)),
            PointConfig(id: "pump1_run_cmd", function: .coil, address: 0, type: .bool),
            PointConfig(id: "pump2_run_cmd", function: .coil, address: 1, type: .bool),
            PointConfig(id: "pump1_running", function: .discreteInput, address: 0, type: .bool,
                        simulation: PointSimulation(source: .inline(SignalSpec(shape: .constant, base: 1)))),
            PointConfig(id: "pump2_running", function: .discreteInput, address: 1, type: .bool),
        ])
    }

    static let rtuSettings = RTUSettings(port: "rs485-0", baud: 19200, parity: .even, dataBits: 8, stopBits: 1)

    static var rtuTemps: DeviceConfig {
        DeviceConfig(id: "rtu-temps", transport: .rtu(rtuSettings), unitID: 3, responseTimeoutMilliseconds: 300, points: [
            PointConfig(id: "water_temp_b", function: .holding, address: 0, type: .int16, scale: 0.1, unit: "degC",
                        simulation: PointSimulation(source: .signal("water_temperature"), noise: 0.05)),
            PointConfig(id: "motor1_temp", function: .holding, address: 1, type: .float32, order: .dcba, unit: "degC",
                        simulation: PointSimulation(source: .inline(SignalSpec(shape: .sine, base: 55, amplitude: 2, periodSeconds: 90)), noise: 0.1)),
            PointConfig(id: "motor1_vibration", function: .holding, address: 3, type: .uint16, scale: 0.01, unit: "mm/s",
                        simulation: PointSimulation(source: .inline(SignalSpec(shape: .sine, base: 2.1, amplitude: 0.3, periodSeconds: 15)))),
        ])
    }

    static var rtuValve: DeviceConfig {
        DeviceConfig(id: "rtu-valve", transport: .rtu(rtuSettings), unitID: 4, points: [
            PointConfig(id: "valve_position", function: .holding, address: 0, type: .uint16,
                        simulation: PointSimulation(source: .inline(SignalSpec(shape: .constant, base: 77)))),
            PointConfig(id: "valve_setpoint", function: .holding, address: 1, type: .uint16),
        ])
    }

    static var plant: PlantConfig {
        PlantConfig(name: "fixture", devices: [pumpPLC, rtuTemps, rtuValve], simulationSignals: signals)
    }
}

/// A Modbus failure as libmodbus reports it.
struct ModbusFailure: Error, Equatable, CustomStringConvertible {
    var errno: Int32
    var description: String { "errno \(errno) (\(String(cString: modbus_strerror(errno))))" }
    static func exception(_ code: ModbusExceptionCode) -> ModbusFailure { ModbusFailure(errno: Int32(MODBUS_ENOBASE) + Int32(code.rawValue)) }
    /// libmodbus's EMBBADCRC (EMBXGTAR + 1); the macro is not imported into Swift.
    static let badCRC = ModbusFailure(errno: Int32(MODBUS_ENOBASE) + Int32(MODBUS_EXCEPTION_GATEWAY_TARGET) + 1)
    static let timeout = ModbusFailure(errno: ETIMEDOUT)
}

/// A raw libmodbus client, independent of Vigil's own client.
final class RawClient {
    let ctx: OpaquePointer

    static func tcp(port: Int, responseTimeoutMilliseconds: Int = 500) throws -> RawClient {
        let c = RawClient(ctx: modbus_new_tcp("127.0.0.1", Int32(port))!, responseTimeoutMilliseconds: responseTimeoutMilliseconds)
        try c.connect()
        return c
    }

    static func rtu(path: String, settings: RTUSettings = Fixture.rtuSettings, unit: Int,
                    responseTimeoutMilliseconds: Int = 500, byteTimeoutMilliseconds: Int = 100) throws -> RawClient {
        let ctx = modbus_new_rtu(path, Int32(settings.baud), CChar(bitPattern: settings.parity.libmodbusCharacter.asciiValue!),
                                 Int32(settings.dataBits), Int32(settings.stopBits))!
        let c = RawClient(ctx: ctx, responseTimeoutMilliseconds: responseTimeoutMilliseconds)
        modbus_set_slave(ctx, Int32(unit))
        modbus_set_byte_timeout(ctx, 0, UInt32(byteTimeoutMilliseconds * 1000))
        try c.connect()
        return c
    }

    private init(ctx: OpaquePointer, responseTimeoutMilliseconds: Int) {
        self.ctx = ctx
        modbus_set_response_timeout(ctx, UInt32(responseTimeoutMilliseconds / 1000), UInt32(responseTimeoutMilliseconds % 1000 * 1000))
    }

    deinit {
        modbus_close(ctx)
        modbus_free(ctx)
    }

    func connect() throws {
        if modbus_connect(ctx) != 0 { throw ModbusFailure(errno: errno) }
    }

    func setUnit(_ unit: Int) { modbus_set_slave(ctx, Int32(unit)) }

    /// Discards bytes a fault left on the line.
    func flush() { modbus_flush(ctx) }

    func readInputRegisters(_ address: Int, _ count: Int) -> Result<[UInt16], ModbusFailure> {
        var regs = [UInt16](repeating: 0, count: count)
        let rc = modbus_read_input_registers(ctx, Int32(address), Int32(count), &regs)
        return rc == count ? .success(regs) : .failure(ModbusFailure(errno: errno))
    }

    func readHoldingRegisters(_ address: Int, _ count: Int) -> Result<[UInt16], ModbusFailure> {
        var regs = [UInt16](repeating: 0, count: count)
        let rc = modbus_read_registers(ctx, Int32(address), Int32(count), &regs)
        return rc == count ? .success(regs) : .failure(ModbusFailure(errno: errno))
    }

    func writeRegister(_ address: Int, _ value: UInt16) -> Result<Void, ModbusFailure> {
        modbus_write_register(ctx, Int32(address), value) == 1 ? .success(()) : .failure(ModbusFailure(errno: errno))
    }

    func writeRegisters(_ address: Int, _ values: [UInt16]) -> Result<Void, ModbusFailure> {
        modbus_write_registers(ctx, Int32(address), Int32(values.count), values) == values.count ? .success(()) : .failure(ModbusFailure(errno: errno))
    }

    func writeCoil(_ address: Int, _ on: Bool) -> Result<Void, ModbusFailure> {
        modbus_write_bit(ctx, Int32(address), on ? 1 : 0) == 1 ? .success(()) : .failure(ModbusFailure(errno: errno))
    }

    func readCoils(_ address: Int, _ count: Int) -> Result<[Bool], ModbusFailure> {
        var bits = [UInt8](repeating: 0, count: count)
        let rc = modbus_read_bits(ctx, Int32(address), Int32(count), &bits)
        return rc == count ? .success(bits.map { $0 != 0 }) : .failure(ModbusFailure(errno: errno))
    }

    func readDiscreteInputs(_ address: Int, _ count: Int) -> Result<[Bool], ModbusFailure> {
        var bits = [UInt8](repeating: 0, count: count)
        let rc = modbus_read_input_bits(ctx, Int32(address), Int32(count), &bits)
        return rc == count ? .success(bits.map { $0 != 0 }) : .failure(ModbusFailure(errno: errno))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}

/// Waits (checking every 5 ms) until `condition` holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

/// Decodes a point's value from registers read starting at address `base`.
func decode(_ p: PointConfig, from regs: [UInt16], base: Int) -> Double? {
    let slice = Array(regs[(p.address - base)..<(p.address - base + p.width)])
    return slice.withUnsafeBufferPointer { RegisterCodec.decode(p.type, order: p.order, registers: $0) }.map(p.engineering)
}
