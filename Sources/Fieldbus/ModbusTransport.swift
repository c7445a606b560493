import VigilCore

/// A Modbus master's end of one connection (a TCP socket or a serial line): what the pollers need
/// of libmodbus, and all of it. `ModbusConnection` is the real one; the virtual-time simulator
/// implements the same protocol with modelled round trips, frame times and faults, so the pollers,
/// links and bus schedules above it run unchanged in both. Failures are `ModbusError`s with the
/// same classes as libmodbus's: timeout, exception, bad CRC or framing (RTU), malformed reply (TCP), disconnected.
///
/// A transport belongs to one thread (or, in simulation, one link's timeline).
public protocol ModbusTransport: AnyObject {
    /// Human-readable endpoint (`tcp 127.0.0.1:502`, `rtu /dev/ttyUSB0 19200 8E1`).
    var endpoint: String { get }
    var isConnected: Bool { get }
    /// Response timeout (to the first byte) and byte timeout (between bytes), in milliseconds.
    func setTimeouts(responseMilliseconds: Int, byteMilliseconds: Int)
    func connect() throws(ModbusError)
    func close()
    /// Drops whatever is still pending on the line (a late answer after a timeout).
    func flush()
    /// Reads `count` registers (function 3 or 4) into `buffer`.
    func readRegisters(_ function: RegisterFunction, unit: Int, address: Int, count: Int,
                       into buffer: UnsafeMutablePointer<UInt16>) throws(ModbusError)
    /// Reads `count` bits (function 1 or 2) into `buffer`, one byte (0 or 1) per bit.
    func readBits(_ function: RegisterFunction, unit: Int, address: Int, count: Int,
                  into buffer: UnsafeMutablePointer<UInt8>) throws(ModbusError)
    /// Function 5.
    func writeCoil(unit: Int, address: Int, value: Bool) throws(ModbusError)
    /// Function 15.
    func writeCoils(unit: Int, address: Int, values: UnsafeBufferPointer<UInt8>) throws(ModbusError)
    /// Function 6.
    func writeRegister(unit: Int, address: Int, value: UInt16) throws(ModbusError)
    /// Function 16.
    func writeRegisters(unit: Int, address: Int, values: UnsafeBufferPointer<UInt16>) throws(ModbusError)
}

extension ModbusConnection: ModbusTransport {}
