#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import CModbus
import Fieldbus
import VigilCore

/// An exception the simulated device answers with instead of its data.
public struct InjectedException: Sendable, Hashable {
    public var code: ModbusExceptionCode
    /// Only requests with this function code get the exception (nil: all).
    public var functionCode: UInt8?
    /// Only requests touching these addresses get the exception (nil: all).
    public var addresses: ClosedRange<Int>?

    public init(code: ModbusExceptionCode, functionCode: UInt8? = nil, addresses: ClosedRange<Int>? = nil) {
        self.code = code
        self.functionCode = functionCode
        self.addresses = addresses
    }
}

/// The faults currently injected into one simulated device.
public struct DeviceFaults: Sendable, Hashable {
    /// Added before every reply.
    public var replyDelayMilliseconds: Int = 0
    /// Requests are read and swallowed: the client times out.
    public var noReply: Bool = false
    public var exception: InjectedException?
    /// TCP: connections are closed and new ones refused. RTU: the device stays silent.
    public var disconnected: Bool = false
    /// When set, the disconnection ends by itself at this `CLOCK_MONOTONIC` time.
    public var disconnectedUntilNanoseconds: UInt64?

    public init() {}
}

/// A Modbus slave serving one `DeviceConfig`'s register map from a `PlantModel`, over a real
/// libmodbus server on TCP (`serveTCP`) or RTU (`serveRTU`, or several devices on one line
/// through `SimulatedRTUBus`), with a thread-safe fault injection API.
///
/// The register map covers, for each table, the lowest to the highest configured address; requests
/// outside it get exception 2 (illegal data address) from libmodbus. Before each reply the points
/// the model drives are refreshed; points it does not drive keep what clients wrote.
/// TCP servers answer any unit id; RTU servers answer only the device's unit id.
public final class SimulatedModbusDevice: @unchecked Sendable {
    public let config: DeviceConfig
    public let model: PlantModel
    private let clock: any MonotonicClock
    private let epochNanoseconds: UInt64

    private let lock = NSLock()
    // Guarded by `lock`.
    private let mapping: UnsafeMutablePointer<modbus_mapping_t>
    private var state = DeviceFaults()
    private var received = 0
    private var served = 0
    private var wakeServer: (@Sendable () -> Void)?
    private var faultGeneration = 0
    private let applied = NSCondition()
    // Guarded by `applied`.
    private var appliedGeneration = 0
    private var server: (any ModbusServerThread)?

    /// `clock` gives simulation time as `clock.now - epochNanoseconds` (the epoch defaults to now).
    public init(config: DeviceConfig, model: PlantModel, clock: any MonotonicClock = SystemMonotonicClock(),
                epochNanoseconds: UInt64? = nil) throws {
        self.config = config
        self.model = model
        self.clock = clock
        self.epochNanoseconds = epochNanoseconds ?? clock.nowNanoseconds()

        func span(_ f: RegisterFunction) -> (start: Int, count: Int) {
            let ps = config.points.filter { $0.function == f }
            guard let lo = ps.map(\.address).min(), let hi = ps.map(\.endAddress).max() else { return (0, 0) }
            return (lo, hi - lo)
        }
        for p in config.points where p.address < 0 || p.endAddress > 65536 {
            throw HILError.unsupported("device \(config.id): point \(p.id) address \(p.address) is outside 0...65535")
        }
        let coils = span(.coil), discrete = span(.discreteInput), holding = span(.holding), input = span(.input)
        guard let m = modbus_mapping_new_start_address(
            UInt32(coils.start), UInt32(coils.count), UInt32(discrete.start), UInt32(discrete.count),
            UInt32(holding.start), UInt32(holding.count), UInt32(input.start), UInt32(input.count)) else {
            throw HILError.lastErrno("modbus_mapping_new_start_address", "device \(config.id)")
        }
        mapping = m
    }

    deinit {
        server?.stop()
        modbus_mapping_free(mapping)
    }

    // MARK: Serving

    /// Serves the device over Modbus TCP on `host:port` (port 0: an ephemeral port) and returns
    /// the port actually bound. `limits` caps the clients served at once; `notice` receives one
    /// line when a burst of clients starts being refused.
    @discardableResult
    public func serveTCP(host: String = "127.0.0.1", port: Int = 0, limits: TCPServerLimits = TCPServerLimits(),
                         notice: (@Sendable (String) -> Void)? = nil) throws -> Int {
        let s = try TCPModbusServer(device: self, host: host, port: port, limits: limits, notice: notice)
        attach(s)
        return s.port
    }

    /// Connection counters of the TCP server (nil when the device does not serve TCP).
    public var tcpConnections: TCPConnectionCounters? {
        lock.withLock { (server as? TCPModbusServer)?.connectionCounters }
    }

    /// Serves the device alone over Modbus RTU on a tty or pty path (e.g. a `VirtualSerialLine`'s device side).
    public func serveRTU(path: String) throws {
        guard case .rtu(let settings) = config.transport else {
            throw HILError.unsupported("device \(config.id) is not an RTU device")
        }
        let s = try RTUModbusServer(path: path, settings: settings, devices: [self])
        attach(s)
    }

    /// The TCP port the device listens on, if it serves TCP.
    public var listeningPort: Int? { lock.withLock { (server as? TCPModbusServer)?.port } }

    /// Stops serving and waits for the server thread to end.
    public func stop() {
        let s = lock.withLock { () -> (any ModbusServerThread)? in
            let s = server
            server = nil
            return s
        }
        s?.stop()
    }

    private func attach(_ s: any ModbusServerThread) {
        let old = lock.withLock { () -> (any ModbusServerThread)? in
            let old = server
            server = s
            wakeServer = { [weak s] in s?.wake() }
            return old
        }
        old?.stop()
    }

    /// Called by an RTU bus that serves this device among others.
    func attachedToBus(wake: @escaping @Sendable () -> Void) {
        lock.withLock { wakeServer = wake }
    }

    // MARK: Fault injection

    /// The faults in force.
    public var faults: DeviceFaults {
        _ = disconnection()  // ends a timed disconnection that is over
        return lock.withLock { state }
    }

    /// Delays every reply by this many milliseconds (0: no delay).
    public func setReplyDelay(milliseconds: Int) { update { $0.replyDelayMilliseconds = max(0, milliseconds) } }

    /// Swallows requests without answering (the client times out).
    public func setNoReply(_ on: Bool) { update { $0.noReply = on } }

    /// Answers matching requests with a Modbus exception (nil: answer normally again).
    public func setException(_ exception: InjectedException?) { update { $0.exception = exception } }

    /// Answers matching requests with `code`, optionally only for a function code or address range.
    public func setException(_ code: ModbusExceptionCode, functionCode: UInt8? = nil, addresses: ClosedRange<Int>? = nil) {
        setException(InjectedException(code: code, functionCode: functionCode, addresses: addresses))
    }

    /// Drops the device off the network: TCP connections are closed and new ones refused until
    /// `reconnect()` or, when given, after `milliseconds`. An RTU device goes silent. Returns once
    /// the server has closed its sockets.
    public func disconnect(forMilliseconds milliseconds: Int? = nil) {
        update(synchronous: true) {
            $0.disconnected = true
            $0.disconnectedUntilNanoseconds = milliseconds.map { monotonicNanoseconds() + UInt64(max(0, $0)) * 1_000_000 }
        }
    }

    /// Ends a disconnection: the TCP server listens again on the same port.
    public func reconnect() {
        update(synchronous: true) {
            $0.disconnected = false
            $0.disconnectedUntilNanoseconds = nil
        }
    }

    /// Removes every injected fault.
    public func clearFaults() { update(synchronous: true) { $0 = DeviceFaults() } }

    /// Changes the faults and wakes the server. With `synchronous`, waits (up to 2 s) until a TCP
    /// server has acted on the change, so a disconnected device refuses connections when
    /// `disconnect()` returns.
    private func update(synchronous: Bool = false, _ change: (inout DeviceFaults) -> Void) {
        let (wake, generation, waitForServer) = lock.withLock { () -> ((@Sendable () -> Void)?, Int, Bool) in
            change(&state)
            faultGeneration += 1
            return (wakeServer, faultGeneration, server is TCPModbusServer)
        }
        wake?()
        guard synchronous, waitForServer else { return }
        let deadline = Date().addingTimeInterval(2)
        applied.lock()
        while appliedGeneration < generation, applied.wait(until: deadline) {}
        applied.unlock()
    }

    /// Whether the device is disconnected now, and until when (nil: until reconnected), with the
    /// fault generation the answer reflects (for `acknowledge`).
    func disconnection() -> (disconnected: Bool, until: UInt64?, generation: Int) {
        lock.withLock {
            if state.disconnected, let until = state.disconnectedUntilNanoseconds, monotonicNanoseconds() >= until {
                state.disconnected = false
                state.disconnectedUntilNanoseconds = nil
            }
            return (state.disconnected, state.disconnectedUntilNanoseconds, faultGeneration)
        }
    }

    /// The server thread has acted on the faults up to `generation`.
    func acknowledge(generation: Int) {
        applied.lock()
        if generation > appliedGeneration {
            appliedGeneration = generation
            applied.broadcast()
        }
        applied.unlock()
    }

    // MARK: Counters and inspection

    /// Requests that reached the device (including swallowed ones).
    public var requestsReceived: Int { lock.withLock { received } }
    /// Requests answered (with data or an exception).
    public var requestsServed: Int { lock.withLock { served } }

    /// The engineering value currently in the register map for a point (what a client would read
    /// now, before the next refresh), or nil for an unknown point.
    public func currentValue(ofPoint id: String) -> Double? {
        guard let p = config.points.first(where: { $0.id == id }) else { return nil }
        return lock.withLock {
            let m = mapping.pointee
            switch p.function {
            case .coil: return m.tab_bits[p.address - Int(m.start_bits)] != 0 ? p.engineering(.bool(true)) : p.engineering(.bool(false))
            case .discreteInput: return p.engineering(.bool(m.tab_input_bits[p.address - Int(m.start_input_bits)] != 0))
            case .holding, .input:
                let base = p.function == .holding ? m.tab_registers + (p.address - Int(m.start_registers))
                                                  : m.tab_input_registers + (p.address - Int(m.start_input_registers))
                return RegisterCodec.decode(p.type, order: p.order, registers: UnsafeBufferPointer(start: base, count: p.width))
                    .map(p.engineering)
            }
        }
    }

    // MARK: Serving one request (server thread)

    private enum Action { case reply, swallow, exception(UInt8) }

    /// Answers one request that `ctx` received. `wait` sleeps interruptibly and returns false when
    /// the server is stopping. The caller owns `ctx` (one server thread per context).
    func handle(ctx: OpaquePointer, request: UnsafeMutablePointer<UInt8>, length: Int32,
                wait: (UInt64) -> Bool) {
        let header = Int(modbus_get_header_length(ctx))
        let (delayNanoseconds, action) = lock.withLock { () -> (UInt64, Action) in
            received += 1
            let delay = UInt64(state.replyDelayMilliseconds) * 1_000_000
            if state.noReply || state.disconnected { return (0, .swallow) }
            if let e = state.exception, Self.matches(e, request: request, length: Int(length), header: header) {
                return (delay, .exception(e.code.rawValue))
            }
            return (delay, .reply)
        }
        if case .swallow = action { return }
        if delayNanoseconds > 0, !wait(delayNanoseconds) { return }
        lock.withLock {
            if state.disconnected || state.noReply { return }
            served += 1
            switch action {
            case .swallow: return
            case .exception(let code): _ = modbus_reply_exception(ctx, request, UInt32(code))
            case .reply:
                refresh(reading: Self.readRange(request: request, length: Int(length), header: header))
                _ = modbus_reply(ctx, request, length, mapping)
            }
        }
    }

    private static func matches(_ e: InjectedException, request: UnsafeMutablePointer<UInt8>, length: Int, header: Int) -> Bool {
        guard length > header else { return false }
        let function = request[header]
        if let fc = e.functionCode, fc != function { return false }
        guard let range = e.addresses else { return true }
        guard length >= header + 3 else { return false }
        let address = Int(request[header + 1]) << 8 | Int(request[header + 2])
        var count = 1
        if [1, 2, 3, 4, 15, 16, 23].contains(function), length >= header + 5 {
            count = max(1, Int(request[header + 3]) << 8 | Int(request[header + 4]))
        }
        return address <= range.upperBound && address + count - 1 >= range.lowerBound
    }

    /// The table and addresses a read request covers (nil for writes and anything unparsable).
    private static func readRange(request: UnsafeMutablePointer<UInt8>, length: Int, header: Int) -> (RegisterFunction, ClosedRange<Int>)? {
        guard length >= header + 5 else { return nil }
        let function: RegisterFunction
        switch request[header] {
        case 1: function = .coil
        case 2: function = .discreteInput
        case 3, 23: function = .holding
        case 4: function = .input
        default: return nil
        }
        let address = Int(request[header + 1]) << 8 | Int(request[header + 2])
        let count = max(1, Int(request[header + 3]) << 8 | Int(request[header + 4]))
        return (function, address...(address + count - 1))
    }

    /// This device's simulation time now (what a drift's onset is measured in).
    public var simulationNanoseconds: UInt64 {
        let now = clock.nowNanoseconds()
        return now >= epochNanoseconds ? now - epochNanoseconds : 0
    }

    /// Writes the model's current values into the map. Called with `lock` held. A point inside the
    /// read range `reading` takes one pending sample-counted spike.
    private func refresh(reading: (RegisterFunction, ClosedRange<Int>)? = nil) {
        let now = clock.nowNanoseconds()
        let t = now >= epochNanoseconds ? now - epochNanoseconds : 0
        let m = mapping.pointee
        for p in config.points {
            let key = PointKey(device: config.id, point: p.id)
            guard model.drives(key), var value = model.value(of: key, atNanoseconds: t) else { continue }
            if let (function, range) = reading, function == p.function, range.overlaps(p.address...(p.endAddress - 1)) {
                value += model.consumeSampleSpike(for: key)
            }
            let raw = p.raw(fromEngineering: value)
            switch p.function {
            case .coil: m.tab_bits[p.address - Int(m.start_bits)] = raw.doubleValue != 0 ? 1 : 0
            case .discreteInput: m.tab_input_bits[p.address - Int(m.start_input_bits)] = raw.doubleValue != 0 ? 1 : 0
            case .holding:
                RegisterCodec.encode(raw, as: p.type, order: p.order,
                                     into: UnsafeMutableBufferPointer(start: m.tab_registers + (p.address - Int(m.start_registers)), count: p.width))
            case .input:
                RegisterCodec.encode(raw, as: p.type, order: p.order,
                                     into: UnsafeMutableBufferPointer(start: m.tab_input_registers + (p.address - Int(m.start_input_registers)), count: p.width))
            }
        }
    }
}
