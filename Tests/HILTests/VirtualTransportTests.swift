import Testing
import Fieldbus
import HIL
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// The virtual-time devices and lines answer with the error classes libmodbus reports for the same
/// faults (see the real-time twins in TCPDeviceTests and RTUTests), and take the time the wire would.
@Suite struct VirtualTransportTests {
    static let epoch: UInt64 = 1_000_000_000

    /// The fixture plant on a virtual rig, the pump PLC's link and the RTU line's link.
    struct Rig {
        let rig: VirtualRig
        let plc: any ModbusTransport
        let line: any ModbusTransport
        let plcClock: ManualClock
        let lineClock: ManualClock

        init(pacing: VirtualRig.Pacing = .paced, baud: Int? = nil) throws {
            var plant = Fixture.plant
            if let baud {
                for i in plant.devices.indices {
                    if case .rtu(var s) = plant.devices[i].transport { s.baud = baud; plant.devices[i].transport = .rtu(s) }
                }
            }
            rig = try VirtualRig(plant: plant, seed: 7, pacing: pacing, epochNanoseconds: VirtualTransportTests.epoch)
            plc = try rig.tcp(host: "127.0.0.1", port: 15020, link: 0)
            guard case .rtu(let s) = plant.devices[1].transport else { throw HILError.unsupported("fixture") }
            line = try rig.serial(path: s.port, settings: s, rs485: false, link: 1)
            plcClock = rig.linkClock(0)
            lineClock = rig.linkClock(1)
            plc.setTimeouts(responseMilliseconds: 200, byteMilliseconds: 50)
            line.setTimeouts(responseMilliseconds: 300, byteMilliseconds: 50)
            try plc.connect()
            try line.connect()
        }
    }

    func readInput(_ t: any ModbusTransport, _ address: Int, _ count: Int) -> Result<[UInt16], ModbusError> {
        var regs = [UInt16](repeating: 0, count: count)
        do throws(ModbusError) {
            try regs.withUnsafeMutableBufferPointer { b throws(ModbusError) in try t.readRegisters(.input, unit: 1, address: address, count: count, into: b.baseAddress!) }
            return .success(regs)
        } catch { return .failure(error) }
    }

    func readHolding(_ t: any ModbusTransport, unit: Int, _ address: Int, _ count: Int) -> Result<[UInt16], ModbusError> {
        var regs = [UInt16](repeating: 0, count: count)
        do throws(ModbusError) {
            try regs.withUnsafeMutableBufferPointer { b throws(ModbusError) in
                try t.readRegisters(.holding, unit: unit, address: address, count: count, into: b.baseAddress!)
            }
            return .success(regs)
        } catch { return .failure(error) }
    }

    @Test func aHealthyTCPReadReturnsTheModelsValueInOneRoundTrip() throws {
        let r = try Rig()
        let start = r.plcClock.nowNanoseconds()
        let regs = try readInput(r.plc, 0, 2).get()
        #expect(r.plcClock.nowNanoseconds() - start == WireTiming().tcpRoundTripNanoseconds)
        let p = Fixture.pumpPLC.points[0]
        let t = start + WireTiming().tcpRoundTripNanoseconds / 2 - Self.epoch
        let expected = r.rig.model.value(of: PointKey(device: "pump-plc", point: p.id), atNanoseconds: t)!
        #expect(abs(decode(p, from: regs, base: 0)! - expected) < 1e-5, "float32 of the model's value at the request's arrival")
    }

    @Test func tcpFaultsGiveLibmodbusErrorClassesAndTakeTheirTime() throws {
        let r = try Rig()
        let device = try #require(r.rig.device("pump-plc"))

        device.setNoReply(true)
        var start = r.plcClock.nowNanoseconds()
        #expect(readInput(r.plc, 0, 2).failure == .timeout)
        #expect(r.plcClock.nowNanoseconds() - start == 200_000_000, "a silent device costs the whole response timeout")
        device.setNoReply(false)

        device.setReplyDelay(milliseconds: 50)
        start = r.plcClock.nowNanoseconds()
        #expect(readInput(r.plc, 0, 2).failure == nil)
        #expect(r.plcClock.nowNanoseconds() - start == 50_000_000 + WireTiming().tcpRoundTripNanoseconds)
        device.setReplyDelay(milliseconds: 250)
        #expect(readInput(r.plc, 0, 2).failure == .timeout, "a delay beyond the response timeout is a timeout")
        device.setReplyDelay(milliseconds: 0)

        device.setException(.serverDeviceBusy)
        #expect(readInput(r.plc, 0, 2).failure == .exception(.serverDeviceBusy))
        device.setException(.illegalDataAddress, addresses: 4...4)
        #expect(readInput(r.plc, 0, 2).failure == nil, "an exception on other addresses")
        #expect(readInput(r.plc, 4, 1).failure == .exception(.illegalDataAddress))
        device.setException(nil)
        #expect(readInput(r.plc, 500, 2).failure == .exception(.illegalDataAddress), "outside the configured map")

        r.rig.clock.advance(toNanoseconds: r.plcClock.nowNanoseconds()) // faults are timed on the rig's (plant) clock
        device.disconnect(forMilliseconds: 100)
        #expect(readInput(r.plc, 0, 2).failure == .disconnected(errno: ECONNRESET), "the open connection is reset")
        #expect(!r.plc.isConnected)
        #expect(throws: ModbusError.disconnected(errno: ECONNREFUSED)) { try r.plc.connect() }
        r.rig.clock.advance(byNanoseconds: 100_000_000)
        r.plcClock.advance(toNanoseconds: r.rig.clock.nowNanoseconds())
        try r.plc.connect()
        #expect(readInput(r.plc, 0, 2).failure == nil, "a timed disconnection ends by itself")
    }

    /// 9600 baud, 8E1: 11 bits a character. A 4-register read is an 8-byte request and a 13-byte
    /// answer, each followed by 3.5 characters of silence, and the device's turnaround between.
    @Test func anRTUReadTakesItsFrameTimesAtTheLinesBaud() throws {
        let r = try Rig(baud: 9600)
        let start = r.lineClock.nowNanoseconds()
        _ = try readHolding(r.line, unit: 3, 0, 4).get()
        let char = UInt64(11) * 1_000_000_000 / 9600
        let silence = UInt64(7 * 11) * 1_000_000_000 / 9600 / 2
        let expected = (UInt64(8 * 11) * 1_000_000_000 / 9600) + silence + WireTiming().serialTurnaroundNanoseconds
            + (UInt64(13 * 11) * 1_000_000_000 / 9600) + silence
        #expect(r.lineClock.nowNanoseconds() - start == expected, "\(Double(r.lineClock.nowNanoseconds() - start) / 1e6) ms")
        #expect(char > 1_000_000, "a character takes more than a millisecond at 9600 baud")
    }

    @Test func rtuLineFaultsGiveLibmodbusErrorClasses() throws {
        let r = try Rig()
        let line = try #require(r.rig.line("rs485-0"))

        line.corruptNextFrames(1)
        #expect(readHolding(r.line, unit: 3, 0, 4).failure == .badCRC)
        #expect(readHolding(r.line, unit: 3, 0, 4).failure == nil, "only the next frame was corrupted")

        #expect(readHolding(r.line, unit: 9, 0, 1).failure == .timeout, "nobody answers for an unknown unit id")

        line.breakLine()
        let start = r.lineClock.nowNanoseconds()
        #expect(readHolding(r.line, unit: 3, 0, 4).failure == .timeout)
        #expect(r.lineClock.nowNanoseconds() - start >= 300_000_000, "a broken line costs the response timeout")
        line.clearBreak()

        line.insertGap(milliseconds: 80)
        #expect(readHolding(r.line, unit: 3, 0, 4).failure == .timeout, "a gap beyond the byte timeout")
        line.insertGap(milliseconds: 20)
        let before = r.lineClock.nowNanoseconds()
        #expect(readHolding(r.line, unit: 4, 0, 2).failure == nil, "a gap within the byte timeout only costs time")
        #expect(r.lineClock.nowNanoseconds() - before > 20_000_000)
        line.insertGap(milliseconds: 0)

        let valve = try #require(r.rig.device("rtu-valve"))
        valve.setNoReply(true)
        #expect(readHolding(r.line, unit: 4, 0, 2).failure == .timeout)
        #expect(readHolding(r.line, unit: 3, 0, 4).failure == nil, "its neighbour on the line still answers")
    }

    @Test func aCorruptionProbabilityIsSeededAndReproducible() throws {
        func outcomes() throws -> [Bool] {
            let r = try Rig()
            r.rig.line("rs485-0")!.setCorruptionProbability(0.3)
            return (0..<200).map { _ in readHolding(r.line, unit: 3, 0, 4).failure == .badCRC }
        }
        let a = try outcomes(), b = try outcomes()
        #expect(a == b)
        let share = Double(a.filter { $0 }.count) / Double(a.count)
        #expect(share > 0.2 && share < 0.4, "about 30 % of frames: \(share)")
    }

    /// A write lands in the device's map and reads back, over both transports.
    @Test func writesReachTheDevice() throws {
        let r = try Rig()
        try r.plc.writeRegister(unit: 1, address: 100, value: 427)
        #expect(r.rig.device("pump-plc")!.currentValue(ofPoint: "pump1_speed_setpoint") == 42.7)
        try r.line.writeRegister(unit: 4, address: 1, value: 33)
        #expect(try readHolding(r.line, unit: 4, 1, 1).get() == [33])
    }

    /// The poller over a virtual transport: the same qualities and reasons as over libmodbus.
    @Test func aPollerOverAVirtualTransportMarksFailuresWithTheirReason() throws {
        let r = try Rig()
        let link = ModbusLink(connection: r.plc, clock: r.plcClock)
        let poller = DevicePoller(device: Fixture.pumpPLC, link: link, clock: r.plcClock)
        poller.poll()
        #expect(poller.allGood)
        #expect(poller.reading(at: 0).latencyNanoseconds == WireTiming().tcpRoundTripNanoseconds)
        r.rig.device("pump-plc")!.setException(.serverDeviceFailure)
        poller.poll()
        #expect(poller.reading(at: 0).quality == .bad(.exception(.serverDeviceFailure)))
        r.rig.device("pump-plc")!.setException(nil)
        r.rig.device("pump-plc")!.setNoReply(true)
        poller.poll()
        #expect(poller.reading(at: 0).quality == .bad(.timeout))
    }
}
