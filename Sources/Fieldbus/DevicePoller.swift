import VigilCore

/// Counters of one device's transactions, for status views and the monitor.
public struct PollStatistics: Sendable, Hashable {
    public var transactions = 0
    public var timeouts = 0
    public var exceptions = 0
    /// CRC or framing errors (RTU: what a noisy line does).
    public var crcOrFramingErrors = 0
    /// TCP replies that did not answer their request (wrong header, function, byte count or echo).
    public var malformedReplies = 0
    public var disconnects = 0
    /// Reads skipped because the link was down or the device had just timed out.
    public var skipped = 0
    public init() {}
}

/// Polls one Modbus device: runs its planned reads, decodes every point, and keeps the latest
/// reading of each with value, timestamp, round-trip latency and quality.
///
/// A failure is a reading, never a thrown error: a timeout, a Modbus exception, a CRC error or a
/// malformed TCP reply marks the affected points bad with the reason. After a timeout the device's remaining reads
/// in that poll are skipped, so a dead device costs one timeout per poll, not one per block.
/// Buffers are allocated once; a poll does not allocate.
public final class DevicePoller {
    public let device: DeviceConfig
    public let blocks: [ReadBlock]
    public let link: ModbusLink
    /// Consecutive timeouts after which a TCP connection is presumed half-open and reopened.
    public var timeoutsBeforeReconnect = 3
    public private(set) var statistics = PollStatistics()
    /// Requests, failures by class and round trips, for the metrics exporter.
    public private(set) var traffic = DeviceTraffic()

    private let clock: any MonotonicClock
    private var latest: [Reading]
    /// The exact decoded value behind each point's latest good reading (a 64-bit integer above 2^53
    /// does not survive the reading's Double); nil until the point first reads good.
    private var latestRaw: [RawValue?]
    /// What decoding needs of each planned point, without the config's strings (no reference
    /// counting in the hot loop); `slotRanges[b]` are block `b`'s slots.
    private let slots: [DecodeSlot]
    private let slotRanges: [Range<Int>]
    private let registers: UnsafeMutablePointer<UInt16>
    private let bits: UnsafeMutablePointer<UInt8>
    private var consecutiveTimeouts = 0
    /// After a timeout or a mismatched answer, a late reply may still arrive: drop it before the
    /// next request so answers stay matched to requests.
    private var flushBeforeNextRequest = false
    private let isTCP: Bool

    public init(device: DeviceConfig, link: ModbusLink, clock: any MonotonicClock) {
        self.device = device
        self.blocks = ReadPlanner.plan(device)
        self.link = link
        self.clock = clock
        self.latest = Array(repeating: .unread, count: device.points.count)
        self.latestRaw = Array(repeating: nil, count: device.points.count)
        var slots: [DecodeSlot] = [], ranges: [Range<Int>] = []
        for block in blocks {
            let first = slots.count
            for planned in block.points {
                let p = device.points[planned.pointIndex]
                slots.append(DecodeSlot(pointIndex: planned.pointIndex, offset: planned.offset, type: p.type, order: p.order,
                                        scale: p.scale, valueOffset: p.offset, isBit: block.function.isBit))
            }
            ranges.append(first..<slots.count)
        }
        self.slots = slots
        self.slotRanges = ranges
        let largest = blocks.map(\.count).max() ?? 1
        registers = .allocate(capacity: max(largest, 125))
        registers.initialize(repeating: 0, count: max(largest, 125))
        bits = .allocate(capacity: max(largest, 2000))
        bits.initialize(repeating: 0, count: max(largest, 2000))
        if case .tcp = device.transport { isTCP = true } else { isTCP = false }
        link.connection.setTimeouts(responseMilliseconds: device.responseTimeoutMilliseconds,
                                    byteMilliseconds: device.byteTimeoutMilliseconds)
    }

    deinit {
        registers.deallocate()
        bits.deallocate()
    }

    /// The latest reading of the point at `index` in `device.points`.
    @inline(__always)
    public func reading(at index: Int) -> Reading { latest[index] }

    /// The exact decoded value (before scale and offset) behind the latest reading of the point at
    /// `index`: for a 64-bit integer point the integer the device holds, digit for digit, where the
    /// reading's engineering value is a Double (exact up to 2^53). Nil until the point reads good.
    @inline(__always)
    public func rawValue(at index: Int) -> RawValue? { latestRaw[index] }

    /// Whether every point of the last poll read good (no timeout, exception or skip).
    public var allGood: Bool {
        for r in latest where !r.quality.isGood { return false }
        return true
    }

    /// The latest readings, in `device.points` order.
    public var readings: [Reading] { latest }

    /// Runs every planned read once and updates the readings.
    public func poll() {
        var skipReason: BadReason? = nil
        if !link.ensureConnected() { skipReason = .disconnected }
        link.connection.setTimeouts(responseMilliseconds: device.responseTimeoutMilliseconds,
                                    byteMilliseconds: device.byteTimeoutMilliseconds)
        for (b, block) in blocks.enumerated() {
            if let reason = skipReason {
                statistics.skipped += 1
                if reason == .disconnected { traffic.lastAnswered = false }
                mark(b, .bad(reason), at: clock.nowNanoseconds(), latency: 0)
                continue
            }
            if flushBeforeNextRequest {
                link.connection.flush()
                flushBeforeNextRequest = false
            }
            let start = clock.nowNanoseconds()
            do {
                statistics.transactions += 1
                traffic.requests &+= 1
                if block.function.isBit {
                    try link.connection.readBits(block.function, unit: device.unitID, address: block.address, count: block.count, into: bits)
                } else {
                    try link.connection.readRegisters(block.function, unit: device.unitID, address: block.address, count: block.count, into: registers)
                }
                let end = clock.nowNanoseconds()
                consecutiveTimeouts = 0
                traffic.lastAnswered = true
                traffic.recordRoundTrip(end &- start)
                decode(b, at: end, latency: end &- start)
            } catch {
                let end = clock.nowNanoseconds()
                if let c = error.trafficClass { traffic.countError(c) }
                traffic.lastAnswered = error.trafficClass == .exception || error.trafficClass == .unexpectedException
                mark(b, .bad(error.badReason), at: end, latency: end &- start)
                skipReason = handle(error)
            }
        }
    }

    /// Records a failure; returns the reason to give the device's remaining blocks, if any.
    private func handle(_ error: ModbusError) -> BadReason? {
        switch error {
        case .timeout:
            statistics.timeouts += 1
            consecutiveTimeouts += 1
            if isTCP && consecutiveTimeouts >= timeoutsBeforeReconnect {
                consecutiveTimeouts = 0
                statistics.disconnects += 1
                link.markDown(error)
                return .disconnected
            }
            link.connection.flush()
            flushBeforeNextRequest = true
            return .timeout
        case .exception, .unexpectedException:
            statistics.exceptions += 1
            return nil
        case .badCRC, .invalidResponse:
            statistics.crcOrFramingErrors += 1
            link.connection.flush()
            flushBeforeNextRequest = true
            return nil
        case .malformedReply:
            statistics.malformedReplies += 1
            link.connection.flush()
            flushBeforeNextRequest = true
            return nil
        case .disconnected:
            statistics.disconnects += 1
            link.markDown(error)
            return .disconnected
        case .invalidRequest:
            return nil
        }
    }

    private func mark(_ block: Int, _ quality: Quality, at time: UInt64, latency: UInt64) {
        for slot in slots[slotRanges[block]] {
            latest[slot.pointIndex].quality = quality
            latest[slot.pointIndex].timestampNanoseconds = time
            latest[slot.pointIndex].latencyNanoseconds = latency
            // The value is kept: the monitor decides whether to hold it, with a stale flag.
        }
    }

    private func decode(_ block: Int, at time: UInt64, latency: UInt64) {
        let range = slotRanges[block]
        let registers = self.registers, bits = self.bits
        var failed = false
        defer { if failed { traffic.countError(.decodeError) } }
        slots.withUnsafeBufferPointer { slots in
          latestRaw.withUnsafeMutableBufferPointer { latestRaw in
            latest.withUnsafeMutableBufferPointer { latest in
                for i in range {
                    let slot = slots[i]
                    let raw: RawValue?
                    if slot.isBit {
                        raw = .bool(bits[slot.offset] != 0)
                    } else {
                        raw = RegisterCodec.decode(slot.type, order: slot.order,
                                                   registers: UnsafeBufferPointer(start: registers + slot.offset, count: slot.type.registerCount))
                    }
                    if let raw {
                        latestRaw[slot.pointIndex] = raw
                        latest[slot.pointIndex] = Reading(value: raw.doubleValue * slot.scale + slot.valueOffset, timestampNanoseconds: time,
                                                          latencyNanoseconds: latency, quality: .good)
                    } else {
                        failed = true
                        latest[slot.pointIndex].quality = .bad(.decodeError)
                        latest[slot.pointIndex].timestampNanoseconds = time
                        latest[slot.pointIndex].latencyNanoseconds = latency
                    }
                }
            }
          }
        }
    }

    /// Writes an engineering value to a coil or holding-register point: function 5 for a coil,
    /// 6 for a one-register value, 16 for wider values, read-modify-write (3 then 6) for a bit field.
    public func write(pointIndex: Int, engineeringValue: Double) throws(ModbusError) {
        let point = device.points[pointIndex]
        guard point.function.isWritable else { throw .invalidRequest(errno: 22) }
        guard link.ensureConnected() else { throw link.lastError ?? .disconnected(errno: 107) }
        let raw = point.raw(fromEngineering: engineeringValue)
        do throws(ModbusError) {
            switch point.function {
            case .coil:
                try link.connection.writeCoil(unit: device.unitID, address: point.address, value: raw.doubleValue != 0)
            case .holding:
                let count = point.type.registerCount
                if case .bitField = point.type {
                    try link.connection.readRegisters(.holding, unit: device.unitID, address: point.address, count: 1, into: registers)
                }
                RegisterCodec.encode(raw, as: point.type, order: point.order, into: UnsafeMutableBufferPointer(start: registers, count: count))
                if count == 1 {
                    try link.connection.writeRegister(unit: device.unitID, address: point.address, value: registers[0])
                } else {
                    try link.connection.writeRegisters(unit: device.unitID, address: point.address,
                                                       values: UnsafeBufferPointer(start: registers, count: count))
                }
            case .input, .discreteInput:
                throw ModbusError.invalidRequest(errno: 22)
            }
        } catch {
            if error.needsReconnect { link.markDown(error) }
            throw error
        }
    }

    /// Writes consecutive coils in one request (function 15).
    public func writeCoils(address: Int, values: [Bool]) throws(ModbusError) {
        guard link.ensureConnected() else { throw link.lastError ?? .disconnected(errno: 107) }
        let count = min(values.count, 2000)
        for i in 0..<count { bits[i] = values[i] ? 1 : 0 }
        do throws(ModbusError) {
            try link.connection.writeCoils(unit: device.unitID, address: address, values: UnsafeBufferPointer(start: bits, count: count))
        } catch {
            if error.needsReconnect { link.markDown(error) }
            throw error
        }
    }
}

/// One planned point, reduced to what decoding it takes.
private struct DecodeSlot {
    var pointIndex: Int
    var offset: Int
    var type: PointDataType
    var order: WordOrder
    var scale: Double
    var valueOffset: Double
    var isBit: Bool
}
