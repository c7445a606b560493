import Fieldbus
import VigilCore

/// What a device does with one request, before the transport adds the time it takes.
public enum VirtualAnswer: Sendable, Hashable {
    /// It answers normally after `delayNanoseconds` of its own.
    case data(delayNanoseconds: UInt64)
    /// It answers with a Modbus exception.
    case exception(ModbusExceptionCode, delayNanoseconds: UInt64)
    /// It says nothing (no reply, or switched off): the master times out.
    case silent
}

/// A simulated Modbus slave in virtual time: one `DeviceConfig`'s register map (each table spans
/// its lowest to highest configured address; outside it: exception 2), refreshed from the
/// `PlantModel` at the time of each request, with the same faults as `SimulatedModbusDevice` (reply
/// delay, no reply, exception by function code and address range, disconnection). No sockets and no
/// threads: a virtual transport asks it at a plant time and models how long the answer takes.
public final class VirtualModbusDevice: @unchecked Sendable {
    public let config: DeviceConfig
    public let model: PlantModel
    /// Plant time of simulation time 0 (the model's t = plant time − epoch).
    public let epochNanoseconds: UInt64
    /// Plant time now, for faults injected with a duration (the rig's clock).
    private let clock: any MonotonicClock

    private var coils: Table<UInt8>
    private var discreteInputs: Table<UInt8>
    private var holding: Table<UInt16>
    private var input: Table<UInt16>
    private var state = DeviceFaults()
    /// Points the model drives, with their keys (computed once).
    private let driven: [(point: PointConfig, key: PointKey)]
    public private(set) var requestsReceived = 0
    public private(set) var requestsServed = 0

    public init(config: DeviceConfig, model: PlantModel, epochNanoseconds: UInt64, clock: any MonotonicClock) throws {
        for p in config.points where p.address < 0 || p.endAddress > 65536 {
            throw HILError.unsupported("device \(config.id): point \(p.id) address \(p.address) is outside 0...65535")
        }
        self.config = config
        self.model = model
        self.epochNanoseconds = epochNanoseconds
        self.clock = clock
        func span(_ f: RegisterFunction) -> (start: Int, count: Int) {
            let ps = config.points.filter { $0.function == f }
            guard let lo = ps.map(\.address).min(), let hi = ps.map(\.endAddress).max() else { return (0, 0) }
            return (lo, hi - lo)
        }
        coils = Table(span(.coil))
        discreteInputs = Table(span(.discreteInput))
        holding = Table(span(.holding))
        input = Table(span(.input))
        driven = config.points.map { ($0, PointKey(device: config.id, point: $0.id)) }.filter { model.drives($0.1) }
    }

    // MARK: Faults (the same vocabulary as `SimulatedModbusDevice`)

    public var faults: DeviceFaults {
        expireDisconnection(at: clock.nowNanoseconds())
        return state
    }

    public func setReplyDelay(milliseconds: Int) { state.replyDelayMilliseconds = max(0, milliseconds) }
    public func setNoReply(_ on: Bool) { state.noReply = on }
    public func setException(_ exception: InjectedException?) { state.exception = exception }
    public func setException(_ code: ModbusExceptionCode, functionCode: UInt8? = nil, addresses: ClosedRange<Int>? = nil) {
        state.exception = InjectedException(code: code, functionCode: functionCode, addresses: addresses)
    }
    /// Off the network until `reconnect()` or, when given, for `milliseconds` of plant time.
    public func disconnect(forMilliseconds milliseconds: Int? = nil) {
        state.disconnected = true
        state.disconnectedUntilNanoseconds = milliseconds.map { clock.nowNanoseconds() &+ UInt64(max(0, $0)) * 1_000_000 }
    }
    public func reconnect() {
        state.disconnected = false
        state.disconnectedUntilNanoseconds = nil
    }
    public func clearFaults() { state = DeviceFaults() }

    /// Whether the device refuses connections (TCP) or is silent (RTU) at plant time `now`.
    public func isDisconnected(at now: UInt64) -> Bool {
        expireDisconnection(at: now)
        return state.disconnected
    }

    private func expireDisconnection(at now: UInt64) {
        if state.disconnected, let until = state.disconnectedUntilNanoseconds, now >= until {
            state.disconnected = false
            state.disconnectedUntilNanoseconds = nil
        }
    }

    // MARK: Serving

    /// Answers a read of `count` items of `function` at `address`, at plant time `now`; on `.data`
    /// the values are in `registers` or `bits`.
    public func read(_ function: RegisterFunction, address: Int, count: Int, at now: UInt64,
                     registers: UnsafeMutablePointer<UInt16>?, bits: UnsafeMutablePointer<UInt8>?) -> VirtualAnswer {
        let functionCode: UInt8 = switch function {
        case .coil: 1
        case .discreteInput: 2
        case .holding: 3
        case .input: 4
        }
        if let refused = admit(functionCode: functionCode, address: address, count: count, at: now) { return refused }
        let delay = UInt64(state.replyDelayMilliseconds) * 1_000_000
        guard count > 0, inSpan(function, address: address, count: count) else { return .exception(.illegalDataAddress, delayNanoseconds: delay) }
        refresh(at: now, reading: function, address: address, count: count)
        requestsServed += 1
        switch function {
        case .coil: coils.copy(address: address, count: count, into: bits)
        case .discreteInput: discreteInputs.copy(address: address, count: count, into: bits)
        case .holding: holding.copy(address: address, count: count, into: registers)
        case .input: input.copy(address: address, count: count, into: registers)
        }
        return .data(delayNanoseconds: delay)
    }

    /// Answers a write of registers (function 6 or 16) at plant time `now`.
    public func writeRegisters(address: Int, values: UnsafeBufferPointer<UInt16>, functionCode: UInt8, at now: UInt64) -> VirtualAnswer {
        if let refused = admit(functionCode: functionCode, address: address, count: values.count, at: now) { return refused }
        let delay = UInt64(state.replyDelayMilliseconds) * 1_000_000
        guard !values.isEmpty, inSpan(.holding, address: address, count: values.count) else {
            return .exception(.illegalDataAddress, delayNanoseconds: delay)
        }
        for (i, v) in values.enumerated() { holding[address + i] = v }
        requestsServed += 1
        return .data(delayNanoseconds: delay)
    }

    /// Answers a write of coils (function 5 or 15) at plant time `now`.
    public func writeCoils(address: Int, values: UnsafeBufferPointer<UInt8>, functionCode: UInt8, at now: UInt64) -> VirtualAnswer {
        if let refused = admit(functionCode: functionCode, address: address, count: values.count, at: now) { return refused }
        let delay = UInt64(state.replyDelayMilliseconds) * 1_000_000
        guard !values.isEmpty, inSpan(.coil, address: address, count: values.count) else {
            return .exception(.illegalDataAddress, delayNanoseconds: delay)
        }
        for (i, v) in values.enumerated() { coils[address + i] = v != 0 ? 1 : 0 }
        requestsServed += 1
        return .data(delayNanoseconds: delay)
    }

    /// Counts the request and applies the faults: silence or an injected exception, else nil.
    private func admit(functionCode: UInt8, address: Int, count: Int, at now: UInt64) -> VirtualAnswer? {
        requestsReceived += 1
        expireDisconnection(at: now)
        if state.noReply || state.disconnected { return .silent }
        if let e = state.exception, e.functionCode.map({ $0 == functionCode }) ?? true,
           e.addresses.map({ address <= $0.upperBound && address + max(1, count) - 1 >= $0.lowerBound }) ?? true {
            requestsServed += 1
            return .exception(e.code, delayNanoseconds: UInt64(state.replyDelayMilliseconds) * 1_000_000)
        }
        return nil
    }

    private func inSpan(_ function: RegisterFunction, address: Int, count: Int) -> Bool {
        switch function {
        case .coil: return coils.contains(address: address, count: count)
        case .discreteInput: return discreteInputs.contains(address: address, count: count)
        case .holding: return holding.contains(address: address, count: count)
        case .input: return input.contains(address: address, count: count)
        }
    }

    /// Writes the model's values at plant time `now` into the tables; a point inside the read range
    /// takes one pending sample-counted spike.
    private func refresh(at now: UInt64, reading function: RegisterFunction, address: Int, count: Int) {
        let t = now >= epochNanoseconds ? now - epochNanoseconds : 0
        for (p, key) in driven {
            guard var value = model.value(of: key, atNanoseconds: t) else { continue }
            if p.function == function && p.address < address + count && p.endAddress > address {
                value += model.consumeSampleSpike(for: key)
            }
            let raw = p.raw(fromEngineering: value)
            switch p.function {
            case .coil: coils[p.address] = raw.doubleValue != 0 ? 1 : 0
            case .discreteInput: discreteInputs[p.address] = raw.doubleValue != 0 ? 1 : 0
            case .holding: holding.encode(raw, point: p)
            case .input: input.encode(raw, point: p)
            }
        }
    }

    /// The engineering value a client would read for a point now (before the next refresh).
    public func currentValue(ofPoint id: String) -> Double? {
        guard let p = config.points.first(where: { $0.id == id }) else { return nil }
        switch p.function {
        case .coil: return p.engineering(.bool(coils[p.address] != 0))
        case .discreteInput: return p.engineering(.bool(discreteInputs[p.address] != 0))
        case .holding: return holding.decode(point: p).map(p.engineering)
        case .input: return input.decode(point: p).map(p.engineering)
        }
    }
}

/// One Modbus table: `count` items from `start`.
private struct Table<Element: FixedWidthInteger> {
    let start: Int
    var items: [Element]

    init(_ span: (start: Int, count: Int)) {
        start = span.start
        items = Array(repeating: 0, count: span.count)
    }

    func contains(address: Int, count: Int) -> Bool { address >= start && address + count <= start + items.count }

    subscript(address: Int) -> Element {
        get { items[address - start] }
        set { items[address - start] = newValue }
    }

    func copy(address: Int, count: Int, into destination: UnsafeMutablePointer<Element>?) {
        guard let destination else { return }
        for i in 0..<count { destination[i] = items[address - start + i] }
    }
}

extension Table where Element == UInt16 {
    mutating func encode(_ raw: RawValue, point p: PointConfig) {
        let base = p.address - start
        items.withUnsafeMutableBufferPointer { all in
            RegisterCodec.encode(raw, as: p.type, order: p.order, into: UnsafeMutableBufferPointer(rebasing: all[base..<(base + p.width)]))
        }
    }

    func decode(point p: PointConfig) -> RawValue? {
        let base = p.address - start
        return items.withUnsafeBufferPointer { all in
            RegisterCodec.decode(p.type, order: p.order, registers: UnsafeBufferPointer(rebasing: all[base..<(base + p.width)]))
        }
    }
}
