import Foundation
import Testing
import CModbus
import HIL
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// RTU devices behind a virtual RS-485 line, read by a plain libmodbus RTU client on the other pty.
@Suite("Simulated Modbus RTU over a virtual serial line")
struct RTUTests {
    let clock = ManualClock(startNanoseconds: 30_000_000_000)

    private func bus(pacing: VirtualSerialLine.Pacing = .unpaced) throws -> (VirtualSerialLine, SimulatedRTUBus, PlantModel) {
        let model = PlantModel(plant: Fixture.plant, seed: 5)
        let line = try VirtualSerialLine(pacing: pacing, seed: 9)
        let devices = try [Fixture.rtuTemps, Fixture.rtuValve].map {
            try SimulatedModbusDevice(config: $0, model: model, clock: clock, epochNanoseconds: 0)
        }
        let bus = try SimulatedRTUBus(path: line.devicePath, devices: devices)
        return (line, bus, model)
    }

    @Test func rtuDeviceAnswersOverTheVirtualLine() throws {
        let (line, bus, model) = try bus()
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 3)
        let regs = try client.readHoldingRegisters(0, 4).get()
        let points = Fixture.rtuTemps.points
        let t = clock.nowNanoseconds()
        let motor = model.value(of: PointKey(device: "rtu-temps", point: "motor1_temp"), atNanoseconds: t)!
        #expect(decode(points[1], from: regs, base: 0) == Double(Float(motor)))  // DCBA float
        let water = model.value(of: PointKey(device: "rtu-temps", point: "water_temp_b"), atNanoseconds: t)!
        #expect(abs(decode(points[0], from: regs, base: 0)! - water) <= 0.05 + 1e-9)
        #expect(line.counters.bytesRelayed == 8 + 5 + 8)
    }

    @Test func twoUnitIdsShareOneLine() throws {
        let (line, bus, _) = try bus()
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 4)
        #expect(try client.readHoldingRegisters(0, 1).get() == [77])
        try client.writeRegister(1, 1234).get()
        #expect(try client.readHoldingRegisters(0, 2).get() == [77, 1234])
        client.setUnit(3)
        #expect(client.readHoldingRegisters(0, 4).failure == nil)
        // A unit nobody answers for is silence on a bus.
        client.setUnit(9)
        #expect(client.readHoldingRegisters(0, 1).failure == .timeout)
        #expect(bus.devices.map(\.requestsServed) == [1, 3])
    }

    @Test func corruptedResponseGivesTheClientABadCRC() throws {
        let (line, bus, _) = try bus()
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 3)
        line.corruptNextFrames(1, direction: .toClient)
        #expect(client.readHoldingRegisters(0, 4).failure == .badCRC)
        #expect(line.counters.bytesCorrupted == 1)
        #expect(client.readHoldingRegisters(0, 4).failure == nil)
    }

    @Test func corruptedRequestIsIgnoredByTheDeviceAndTimesOut() throws {
        let (line, bus, _) = try bus()
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 3, responseTimeoutMilliseconds: 200)
        line.corruptNextFrames(1, direction: .toDevice)
        #expect(client.readHoldingRegisters(0, 4).failure == .timeout)
        #expect(eventually { bus.crcErrorCount == 1 })
        #expect(client.readHoldingRegisters(0, 4).failure == nil)
    }

    @Test func droppedByteTimesTheClientOut() throws {
        let (line, bus, _) = try bus()
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 3, responseTimeoutMilliseconds: 200, byteTimeoutMilliseconds: 50)
        line.dropNextFrames(1, direction: .toClient)
        #expect(client.readHoldingRegisters(0, 4).failure == .timeout)
        #expect(line.counters.bytesDropped == 1)
        client.flush()
        #expect(client.readHoldingRegisters(0, 4).failure == nil)
    }

    @Test func lineBreakTimesTheClientOutUntilCleared() throws {
        let (line, bus, _) = try bus()
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 4, responseTimeoutMilliseconds: 150)
        line.breakLine()
        #expect(client.readHoldingRegisters(0, 1).failure == .timeout)
        #expect(client.readHoldingRegisters(0, 1).failure == .timeout)
        #expect(line.counters.bytesDropped == 16)
        line.clearBreak()
        #expect(try client.readHoldingRegisters(0, 1).get() == [77])
    }

    @Test func timedLineBreakEndsByItself() throws {
        let (line, bus, _) = try bus()
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 4, responseTimeoutMilliseconds: 100)
        line.breakLine(forMilliseconds: 150)
        #expect(client.readHoldingRegisters(0, 1).failure == .timeout)
        #expect(eventually { (try? client.readHoldingRegisters(0, 1).get()) == [77] })
    }

    @Test func gapInsideAResponseLongerThanTheByteTimeoutTimesTheClientOut() throws {
        let (line, bus, _) = try bus()
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 3, responseTimeoutMilliseconds: 500, byteTimeoutMilliseconds: 20)
        line.insertGap(milliseconds: 120, frames: 1, direction: .toClient)
        #expect(client.readHoldingRegisters(0, 4).failure == .timeout)
        // Let the rest of the broken frame arrive, then discard it.
        #expect(eventually { line.counters.bytesRelayed >= 8 + 13 })
        client.flush()
        #expect(eventually { client.readHoldingRegisters(0, 4).failure == nil })
    }

    @Test func pacedLineIsNoFasterThanBaud() throws {
        // 9600 baud, 11 bits per character: 1.146 ms per byte.
        let (line, bus, _) = try bus(pacing: .paced(baud: 9600, bitsPerCharacter: 11))
        defer { bus.stop(); line.close() }
        let client = try RawClient.rtu(path: line.clientPath, unit: 3, responseTimeoutMilliseconds: 2000)
        let start = monotonicSeconds()
        let regs = try client.readHoldingRegisters(0, 4).get()
        let elapsed = monotonicSeconds() - start
        #expect(regs.count == 4)
        // Request 8 bytes + response 3 + 8 + 2 bytes must each cross the wire.
        let frameSeconds = Double(8 + 13) * 11 / 9600
        #expect(elapsed >= frameSeconds, "took \(elapsed) s, the line needs at least \(frameSeconds) s")
    }

    @Test func lineFaultsAreDeterministicForASeed() throws {
        func run() throws -> (LineCounters, [Bool]) {
            let (line, bus, _) = try bus()
            defer { bus.stop(); line.close() }
            let client = try RawClient.rtu(path: line.clientPath, unit: 4, responseTimeoutMilliseconds: 500, byteTimeoutMilliseconds: 20)
            line.setCorruptionProbability(0.5, direction: .toClient)
            var ok: [Bool] = []
            for _ in 0..<8 {
                ok.append(client.readHoldingRegisters(0, 1).failure == nil)
                client.flush()
            }
            return (line.counters, ok)
        }
        let a = try run(), b = try run()
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.1.contains(true) && a.1.contains(false))
    }
}

@Suite("Virtual serial line lifecycle")
struct VirtualSerialLineLifecycleTests {
    @Test func closingDuringALongGapDoesNotWaitItOut() throws {
        let line = try VirtualSerialLine()
        let fd = open(line.devicePath, O_RDWR | O_NOCTTY)
        #expect(fd >= 0)
        defer { close(fd) }
        line.insertGap(milliseconds: 60_000, frames: 1, direction: .toClient)
        let bytes: [UInt8] = [1, 2, 3, 4]
        #expect(write(fd, bytes, bytes.count) == 4)
        #expect(eventually { line.counters.bytesRelayed == 4 })
        line.close()  // returns: the relay thread is joined
        line.close()
        #expect(line.counters.bytesRelayed == 4)
    }
}
