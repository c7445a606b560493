#if canImport(Glibc)
import Glibc
#endif
import Fieldbus
import VigilCore

/// How long things take on the simulated wire.
public struct WireTiming: Sendable, Hashable {
    /// A TCP request's round trip to a healthy device, without the device's own delay (loopback or
    /// a plant LAN: a few hundred microseconds).
    public var tcpRoundTripNanoseconds: UInt64 = 300_000
    /// A TCP connect attempt (accepted or refused).
    public var tcpConnectNanoseconds: UInt64 = 150_000
    /// A serial device's turnaround between the end of the request and the start of its answer.
    public var serialTurnaroundNanoseconds: UInt64 = 500_000
    /// An unpaced line (a pty relay as fast as it can go) carries a whole transaction in this long.
    public var unpacedTransactionNanoseconds: UInt64 = 200_000

    public init() {}
}

/// A simulated RS-485 line in virtual time: the devices on it (by unit id) and the line's own
/// faults, the same vocabulary as `VirtualSerialLine` (corrupt frames, mid-frame gaps, a broken
/// line). Frame times follow the baud rate when `paced` (characters of `bitsPerCharacter` bits, the
/// 3.5-character silence between frames), or take a fixed short time when unpaced.
public final class VirtualLine: @unchecked Sendable {
    public let name: String
    public let settings: RTUSettings
    public let paced: Bool
    private(set) var devices: [Int: VirtualModbusDevice] = [:]
    private let clock: any MonotonicClock
    private var random: SeededRandom
    private var state = LineFaults()
    public private(set) var framesCorrupted = 0

    init(name: String, settings: RTUSettings, paced: Bool, seed: UInt64, clock: any MonotonicClock) {
        self.name = name
        self.settings = settings
        self.paced = paced
        self.clock = clock
        random = SeededRandom(seed: seed)
    }

    func attach(_ device: VirtualModbusDevice, unit: Int) { devices[unit] = device }

    // MARK: Faults

    public var faults: LineFaults { state }
    public func corruptNextFrames(_ frames: Int) { state.corruptNextFrames = max(0, frames) }
    public func setCorruptionProbability(_ p: Double) { state.corruptionProbability = min(1, max(0, p)) }
    /// Every frame toward the master gets a gap of `milliseconds` in its middle (0: none).
    public func insertGap(milliseconds: Int, frames: Int = Int.max) {
        state.gapMilliseconds = max(0, milliseconds)
        state.gapFrames = milliseconds > 0 ? frames : 0
    }
    /// Nothing passes until `clearBreak()` or, when given, for `milliseconds` of plant time.
    public func breakLine(forMilliseconds milliseconds: Int? = nil) {
        state.broken = true
        state.brokenUntilNanoseconds = milliseconds.map { clock.nowNanoseconds() &+ UInt64(max(0, $0)) * 1_000_000 }
    }
    public func clearBreak() {
        state.broken = false
        state.brokenUntilNanoseconds = nil
    }
    public func clearFaults() { state = LineFaults() }

    func isBroken(at now: UInt64) -> Bool {
        if state.broken, let until = state.brokenUntilNanoseconds, now >= until {
            state.broken = false
            state.brokenUntilNanoseconds = nil
        }
        return state.broken
    }

    /// Whether the next frame toward the master arrives with a bad CRC (consumes a counted fault).
    func corruptsNextAnswer() -> Bool {
        if state.corruptNextFrames > 0 {
            state.corruptNextFrames -= 1
            framesCorrupted += 1
            return true
        }
        if state.corruptionProbability > 0 {
            let u = Double(random.next() >> 11) / Double(1 << 53)
            if u < state.corruptionProbability {
                framesCorrupted += 1
                return true
            }
        }
        return false
    }

    /// A mid-frame gap in the next frame toward the master, in ns (0: none; consumes one).
    func nextGapNanoseconds() -> UInt64 {
        guard state.gapMilliseconds > 0, state.gapFrames > 0 else { return 0 }
        if state.gapFrames != Int.max { state.gapFrames -= 1 }
        return UInt64(state.gapMilliseconds) * 1_000_000
    }

    /// How long `bytes` characters take on the wire.
    func frameNanoseconds(bytes: Int) -> UInt64 {
        guard paced else { return 0 }
        return UInt64(bytes * settings.bitsPerCharacter) * 1_000_000_000 / UInt64(max(1, settings.baud))
    }

    /// The silence that ends a frame: 3.5 characters, at least 1.75 ms above 19200 baud (the spec).
    var interFrameNanoseconds: UInt64 {
        guard paced else { return 0 }
        return settings.baud > 19_200 ? 1_750_000 : frameNanoseconds(bytes: 7) / 2
    }
}

/// The master's end of a simulated TCP connection to one `VirtualModbusDevice`, in virtual time:
/// each call advances the link's clock by what the transaction took (round trip, the device's
/// delay, or the whole response timeout) and fails with the error class libmodbus would report.
public final class VirtualTCPTransport: ModbusTransport {
    public let device: VirtualModbusDevice
    public let endpoint: String
    public private(set) var isConnected = false
    private let clock: ManualClock
    private let timing: WireTiming
    private var responseTimeout: UInt64 = 200_000_000
    public private(set) var transactions = 0

    public init(device: VirtualModbusDevice, endpoint: String, clock: ManualClock, timing: WireTiming) {
        self.device = device
        self.endpoint = endpoint
        self.clock = clock
        self.timing = timing
    }

    public func setTimeouts(responseMilliseconds: Int, byteMilliseconds: Int) {
        responseTimeout = UInt64(max(1, responseMilliseconds)) * 1_000_000
    }

    public func connect() throws(ModbusError) {
        if isConnected { return }
        clock.advance(byNanoseconds: timing.tcpConnectNanoseconds)
        guard !device.isDisconnected(at: clock.nowNanoseconds()) else { throw .disconnected(errno: ECONNREFUSED) }
        isConnected = true
    }

    public func close() { isConnected = false }
    public func flush() {}

    /// Runs one transaction through the device's answer.
    private func transact(_ ask: (UInt64) -> VirtualAnswer) throws(ModbusError) {
        guard isConnected else { throw .disconnected(errno: EBADF) }
        transactions += 1
        let start = clock.nowNanoseconds()
        if device.isDisconnected(at: start) {
            // The server closed the connection: the next read sees a reset.
            clock.advance(byNanoseconds: timing.tcpRoundTripNanoseconds / 2)
            isConnected = false
            throw .disconnected(errno: ECONNRESET)
        }
        let answer = ask(start &+ timing.tcpRoundTripNanoseconds / 2)
        switch answer {
        case .silent:
            clock.advance(byNanoseconds: responseTimeout)
            throw .timeout
        case .data(let delay), .exception(_, let delay):
            let took = timing.tcpRoundTripNanoseconds &+ delay
            guard took < responseTimeout else {
                clock.advance(byNanoseconds: responseTimeout)
                throw .timeout
            }
            clock.advance(byNanoseconds: took)
            if case .exception(let code, _) = answer { throw .exception(code) }
        }
    }

    public func readRegisters(_ function: RegisterFunction, unit: Int, address: Int, count: Int,
                              into buffer: UnsafeMutablePointer<UInt16>) throws(ModbusError) {
        guard function == .holding || function == .input, count > 0, count <= 125 else { throw .invalidRequest(errno: EINVAL) }
        try transact { device.read(function, address: address, count: count, at: $0, registers: buffer, bits: nil) }
    }

    public func readBits(_ function: RegisterFunction, unit: Int, address: Int, count: Int,
                         into buffer: UnsafeMutablePointer<UInt8>) throws(ModbusError) {
        guard function == .coil || function == .discreteInput, count > 0, count <= 2000 else { throw .invalidRequest(errno: EINVAL) }
        try transact { device.read(function, address: address, count: count, at: $0, registers: nil, bits: buffer) }
    }

    public func writeCoil(unit: Int, address: Int, value: Bool) throws(ModbusError) {
        var v: UInt8 = value ? 1 : 0
        try withUnsafePointer(to: &v) { p throws(ModbusError) in
            try transact { device.writeCoils(address: address, values: UnsafeBufferPointer(start: p, count: 1), functionCode: 5, at: $0) }
        }
    }

    public func writeCoils(unit: Int, address: Int, values: UnsafeBufferPointer<UInt8>) throws(ModbusError) {
        guard values.count <= 1968 else { throw .invalidRequest(errno: EINVAL) }
        try transact { device.writeCoils(address: address, values: values, functionCode: 15, at: $0) }
    }

    public func writeRegister(unit: Int, address: Int, value: UInt16) throws(ModbusError) {
        var v = value
        try withUnsafePointer(to: &v) { p throws(ModbusError) in
            try transact { device.writeRegisters(address: address, values: UnsafeBufferPointer(start: p, count: 1), functionCode: 6, at: $0) }
        }
    }

    public func writeRegisters(unit: Int, address: Int, values: UnsafeBufferPointer<UInt16>) throws(ModbusError) {
        guard values.count <= 123 else { throw .invalidRequest(errno: EINVAL) }
        try transact { device.writeRegisters(address: address, values: values, functionCode: 16, at: $0) }
    }
}

/// The master's end of a simulated serial line, in virtual time: request and answer frames take
/// their time at the line's baud, the addressed unit answers (or not) through the line's faults,
/// and the errors are libmodbus's: timeout (silence, a broken line, a gap beyond the byte
/// timeout), bad CRC (a corrupted answer), exception.
public final class VirtualRTUTransport: ModbusTransport {
    public let line: VirtualLine
    public let endpoint: String
    public private(set) var isConnected = false
    private let clock: ManualClock
    private let timing: WireTiming
    private var responseTimeout: UInt64 = 300_000_000
    private var byteTimeout: UInt64 = 50_000_000
    public private(set) var transactions = 0

    public init(line: VirtualLine, clock: ManualClock, timing: WireTiming) {
        self.line = line
        let s = line.settings
        endpoint = "rtu \(line.name) \(s.baud) \(s.dataBits)\(s.parity.libmodbusCharacter)\(s.stopBits) (virtual)"
        self.clock = clock
        self.timing = timing
    }

    public func setTimeouts(responseMilliseconds: Int, byteMilliseconds: Int) {
        responseTimeout = UInt64(max(1, responseMilliseconds)) * 1_000_000
        if byteMilliseconds > 0 { byteTimeout = UInt64(byteMilliseconds) * 1_000_000 }
    }

    public func connect() throws(ModbusError) { isConnected = true }
    public func close() { isConnected = false }
    public func flush() {}

    /// One request of `requestBytes` to `unit`; an answer of `answerBytes` (data) or 5 (exception).
    private func transact(unit: Int, requestBytes: Int, answerBytes: Int, _ ask: (VirtualModbusDevice, UInt64) -> VirtualAnswer) throws(ModbusError) {
        guard isConnected else { throw .disconnected(errno: EBADF) }
        transactions += 1
        if !line.paced { clock.advance(byNanoseconds: timing.unpacedTransactionNanoseconds) }
        clock.advance(byNanoseconds: line.frameNanoseconds(bytes: requestBytes) &+ line.interFrameNanoseconds)
        let sent = clock.nowNanoseconds()
        guard !line.isBroken(at: sent), let device = line.devices[unit] else {
            clock.advance(byNanoseconds: responseTimeout)
            throw .timeout
        }
        let answer = ask(device, sent)
        let delay: UInt64, bytes: Int
        switch answer {
        case .silent:
            clock.advance(byNanoseconds: responseTimeout)
            throw .timeout
        case .data(let d): (delay, bytes) = (d, answerBytes)
        case .exception(_, let d): (delay, bytes) = (d, 5)
        }
        let firstByte = timing.serialTurnaroundNanoseconds &+ delay
        guard firstByte < responseTimeout else {
            clock.advance(byNanoseconds: responseTimeout)
            throw .timeout
        }
        let gap = line.nextGapNanoseconds()
        if gap > byteTimeout {
            // The answer stops halfway for longer than the byte timeout.
            clock.advance(byNanoseconds: firstByte &+ line.frameNanoseconds(bytes: bytes / 2) &+ byteTimeout)
            throw .timeout
        }
        clock.advance(byNanoseconds: firstByte &+ line.frameNanoseconds(bytes: bytes) &+ gap &+ line.interFrameNanoseconds)
        if line.corruptsNextAnswer() { throw .badCRC }
        if case .exception(let code, _) = answer { throw .exception(code) }
    }

    public func readRegisters(_ function: RegisterFunction, unit: Int, address: Int, count: Int,
                              into buffer: UnsafeMutablePointer<UInt16>) throws(ModbusError) {
        guard function == .holding || function == .input, count > 0, count <= 125 else { throw .invalidRequest(errno: EINVAL) }
        try transact(unit: unit, requestBytes: 8, answerBytes: 5 + 2 * count) {
            $0.read(function, address: address, count: count, at: $1, registers: buffer, bits: nil)
        }
    }

    public func readBits(_ function: RegisterFunction, unit: Int, address: Int, count: Int,
                         into buffer: UnsafeMutablePointer<UInt8>) throws(ModbusError) {
        guard function == .coil || function == .discreteInput, count > 0, count <= 2000 else { throw .invalidRequest(errno: EINVAL) }
        try transact(unit: unit, requestBytes: 8, answerBytes: 5 + (count + 7) / 8) {
            $0.read(function, address: address, count: count, at: $1, registers: nil, bits: buffer)
        }
    }

    public func writeCoil(unit: Int, address: Int, value: Bool) throws(ModbusError) {
        var v: UInt8 = value ? 1 : 0
        try withUnsafePointer(to: &v) { p throws(ModbusError) in
            try transact(unit: unit, requestBytes: 8, answerBytes: 8) {
                $0.writeCoils(address: address, values: UnsafeBufferPointer(start: p, count: 1), functionCode: 5, at: $1)
            }
        }
    }

    public func writeCoils(unit: Int, address: Int, values: UnsafeBufferPointer<UInt8>) throws(ModbusError) {
        guard values.count <= 1968 else { throw .invalidRequest(errno: EINVAL) }
        try transact(unit: unit, requestBytes: 9 + (values.count + 7) / 8, answerBytes: 8) {
            $0.writeCoils(address: address, values: values, functionCode: 15, at: $1)
        }
    }

    public func writeRegister(unit: Int, address: Int, value: UInt16) throws(ModbusError) {
        var v = value
        try withUnsafePointer(to: &v) { p throws(ModbusError) in
            try transact(unit: unit, requestBytes: 8, answerBytes: 8) {
                $0.writeRegisters(address: address, values: UnsafeBufferPointer(start: p, count: 1), functionCode: 6, at: $1)
            }
        }
    }

    public func writeRegisters(unit: Int, address: Int, values: UnsafeBufferPointer<UInt16>) throws(ModbusError) {
        guard values.count <= 123 else { throw .invalidRequest(errno: EINVAL) }
        try transact(unit: unit, requestBytes: 9 + 2 * values.count, answerBytes: 8) {
            $0.writeRegisters(address: address, values: values, functionCode: 16, at: $1)
        }
    }
}
