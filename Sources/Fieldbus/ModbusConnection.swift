import VigilCore
#if canImport(Glibc)
import Glibc
#endif
import CModbus

/// One libmodbus context: a TCP connection or a serial line. Not thread-safe (neither is
/// libmodbus): it belongs to one thread. Several RTU devices on one line share one connection
/// and set their unit id per transaction.
///
/// RTU transactions are libmodbus's. TCP connections and transactions are Vigil's
/// (`ModbusTCPTransaction`, on the socket it hands the context): libmodbus 3.1.6 accepts replies
/// with the wrong unit id, an MBAP length that does not fit, or a protocol id other than 0, so
/// every TCP reply is checked against its request (`ModbusTCPReply`) before anything is decoded;
/// the socket is waited on with `poll`, never `select`.
///
/// Link-level error recovery stays off (libmodbus's own recovery can retry for seconds);
/// reconnection and back-off belong to `DevicePoller`.
public final class ModbusConnection {
    private let context: OpaquePointer
    /// The TCP framing and checks (nil for RTU).
    private let tcp: ModbusTCPTransaction?
    /// Human-readable endpoint (`tcp 127.0.0.1:502`, `rtu /dev/ttyUSB0 19200 8E1`).
    public let endpoint: String
    public private(set) var isConnected = false
    private var currentUnit: Int32 = -1
    private let isRS485: Bool
    private let isRTU: Bool
    /// TCP: where to connect (RTU: the serial path, unused).
    private let host: String
    private let port: Int
    /// `FD_SETSIZE`: `select()` cannot wait on a descriptor at or above it.
    static let selectLimit: Int32 = 1024

    /// Creates a TCP context. The corresponding C function is `modbus_new_tcp_pi`.
    public init(tcpHost host: String, port: Int) throws(ModbusError) {
        guard let ctx = modbus_new_tcp_pi(host, String(port)) else { throw ModbusError(errno: errno) }
        context = ctx
        endpoint = "tcp \(host):\(port)"
        self.host = host
        self.port = port
        isRS485 = false
        isRTU = false
        tcp = ModbusTCPTransaction()
    }

    /// Creates an RTU context on a serial device. The corresponding C function is `modbus_new_rtu`.
    /// - Parameter rs485: put a real UART into kernel RS-485 mode (never for ptys or USB adapters
    ///   that switch direction themselves).
    public init(serialPath path: String, settings: RTUSettings, rs485: Bool = false) throws(ModbusError) {
        let parity = CChar(bitPattern: settings.parity.libmodbusCharacter.asciiValue ?? UInt8(ascii: "N"))
        guard let ctx = modbus_new_rtu(path, Int32(settings.baud), parity, Int32(settings.dataBits), Int32(settings.stopBits)) else {
            throw ModbusError(errno: errno)
        }
        context = ctx
        endpoint = "rtu \(path) \(settings.baud) \(settings.dataBits)\(settings.parity.libmodbusCharacter)\(settings.stopBits)"
        isRS485 = rs485
        isRTU = true
        host = path
        port = 0
        tcp = nil
    }

    deinit {
        modbus_close(context)
        modbus_free(context)
    }

    /// Sets the response timeout (first byte) and byte timeout (between bytes), in milliseconds.
    public func setTimeouts(responseMilliseconds: Int, byteMilliseconds: Int) {
        let r = max(1, responseMilliseconds)
        modbus_set_response_timeout(context, UInt32(r / 1000), UInt32((r % 1000) * 1000))
        if byteMilliseconds > 0 {
            modbus_set_byte_timeout(context, UInt32(byteMilliseconds / 1000), UInt32((byteMilliseconds % 1000) * 1000))
        }
        tcp?.setTimeouts(responseMilliseconds: r, byteMilliseconds: byteMilliseconds)
    }

    /// Opens the socket or serial port, bounded by the response timeout. TCP connects with
    /// `poll` (`ModbusTCPTransaction.connect`) and hands the socket to the context; RTU opens
    /// the port with `modbus_connect`. A serial port on a descriptor ≥ `FD_SETSIZE` is refused
    /// (EMFILE, a disconnected reading): libmodbus waits on it with `select()`, which would abort.
    public func connect() throws(ModbusError) {
        if isConnected { return }
        if let tcp {
            modbus_set_socket(context, try tcp.connect(host: host, port: port))
        } else {
            if modbus_connect(context) != 0 {
                let e = errno
                modbus_close(context)
                throw .disconnected(errno: e)
            }
            if modbus_get_socket(context) >= Self.selectLimit {
                modbus_close(context)
                throw .disconnected(errno: EMFILE)
            }
        }
        if isRS485 {
            // ENOTTY means "not a UART" (a pty or a USB adapter): it then handles direction itself.
            _ = modbus_rtu_set_serial_mode(context, Int32(MODBUS_RTU_RS485))
        }
        isConnected = true
        currentUnit = -1
    }

    /// Closes the socket or port; the next transaction needs `connect()` again.
    public func close() {
        modbus_close(context)
        isConnected = false
    }

    /// Drops bytes still pending on the line (a late answer after a timeout), so the next answer
    /// is matched to the next request.
    public func flush() {
        _ = modbus_flush(context)
    }

    @inline(__always)
    private func select(unit: Int) throws(ModbusError) {
        let u = Int32(unit)
        if u != currentUnit {
            guard modbus_set_slave(context, u) == 0 else { throw ModbusError(errno: errno) }
            currentUnit = u
        }
    }

    @inline(__always)
    private func check(_ rc: Int32) throws(ModbusError) {
        if rc < 0 { throw ModbusError(errno: errno) }
    }

    /// The socket of a connected TCP context.
    private var socket: Int32 { modbus_get_socket(context) }

    /// Reads `count` registers (function 3 or 4) into `buffer`.
    public func readRegisters(_ function: RegisterFunction, unit: Int, address: Int, count: Int,
                              into buffer: UnsafeMutablePointer<UInt16>) throws(ModbusError) {
        if let tcp {
            guard !function.isBit else { throw .invalidRequest(errno: EINVAL) }
            try tcp.readRegisters(socket: socket, function: function.readFunctionCode, unit: unit, address: address, count: count, into: buffer)
            return
        }
        try select(unit: unit)
        switch function {
        case .holding: try check(modbus_read_registers(context, Int32(address), Int32(count), buffer))
        case .input: try check(modbus_read_input_registers(context, Int32(address), Int32(count), buffer))
        case .coil, .discreteInput: throw .invalidRequest(errno: EINVAL)
        }
    }

    /// Reads `count` bits (function 1 or 2) into `buffer`, one byte (0 or 1) per bit.
    public func readBits(_ function: RegisterFunction, unit: Int, address: Int, count: Int,
                         into buffer: UnsafeMutablePointer<UInt8>) throws(ModbusError) {
        if let tcp {
            guard function.isBit else { throw .invalidRequest(errno: EINVAL) }
            try tcp.readBits(socket: socket, function: function.readFunctionCode, unit: unit, address: address, count: count, into: buffer)
            return
        }
        try select(unit: unit)
        switch function {
        case .coil: try check(modbus_read_bits(context, Int32(address), Int32(count), buffer))
        case .discreteInput: try check(modbus_read_input_bits(context, Int32(address), Int32(count), buffer))
        case .holding, .input: throw .invalidRequest(errno: EINVAL)
        }
    }

    /// Writes one coil (function 5).
    public func writeCoil(unit: Int, address: Int, value: Bool) throws(ModbusError) {
        if let tcp { return try tcp.writeSingle(socket: socket, function: 5, unit: unit, address: address, value: value ? 0xFF00 : 0) }
        try select(unit: unit)
        try check(modbus_write_bit(context, Int32(address), value ? 1 : 0))
    }

    /// Writes consecutive coils (function 15), at most 1968.
    public func writeCoils(unit: Int, address: Int, values: UnsafeBufferPointer<UInt8>) throws(ModbusError) {
        guard let base = values.baseAddress, values.count <= 1968 else { throw .invalidRequest(errno: EINVAL) }
        if let tcp { return try tcp.writeCoils(socket: socket, unit: unit, address: address, values: values) }
        try select(unit: unit)
        try check(modbus_write_bits(context, Int32(address), Int32(values.count), base))
    }

    /// Writes one holding register (function 6).
    public func writeRegister(unit: Int, address: Int, value: UInt16) throws(ModbusError) {
        if let tcp { return try tcp.writeSingle(socket: socket, function: 6, unit: unit, address: address, value: value) }
        try select(unit: unit)
        try check(modbus_write_register(context, Int32(address), value))
    }

    /// Writes consecutive holding registers (function 16), at most 123.
    public func writeRegisters(unit: Int, address: Int, values: UnsafeBufferPointer<UInt16>) throws(ModbusError) {
        guard let base = values.baseAddress, values.count <= 123 else { throw .invalidRequest(errno: EINVAL) }
        if let tcp { return try tcp.writeRegisters(socket: socket, unit: unit, address: address, values: values) }
        try select(unit: unit)
        try check(modbus_write_registers(context, Int32(address), Int32(values.count), base))
    }
}
