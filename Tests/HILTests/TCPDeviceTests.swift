import Foundation
import Testing
import CModbus
import HIL
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// A pump PLC simulated on an ephemeral loopback port, read by a plain libmodbus client.
@Suite("Simulated Modbus TCP device")
struct TCPDeviceTests {
    let clock = ManualClock(startNanoseconds: 12_345_000_000)
    let model = PlantModel(plant: Fixture.plant, seed: 11)
    let device: SimulatedModbusDevice
    let port: Int

    init() throws {
        device = try SimulatedModbusDevice(config: Fixture.pumpPLC, model: model, clock: clock, epochNanoseconds: 0)
        port = try device.serveTCP()
    }

    private func expected(_ id: String) -> Double {
        model.value(of: PointKey(device: "pump-plc", point: id), atNanoseconds: clock.nowNanoseconds())!
    }

    @Test func tcpSlaveServesThePlantModelsValues() throws {
        defer { device.stop() }
        #expect(port > 0)
        let client = try RawClient.tcp(port: port)
        for _ in 0..<3 {
            let regs = try client.readInputRegisters(0, 8).get()
            let points = Dictionary(uniqueKeysWithValues: Fixture.pumpPLC.points.map { ($0.id, $0) })
            // float32: exactly the model's value rounded to Float.
            #expect(decode(points["discharge_pressure_a"]!, from: regs, base: 0) == Double(Float(expected("discharge_pressure_a"))))
            #expect(decode(points["discharge_pressure_b"]!, from: regs, base: 0) == Double(Float(expected("discharge_pressure_b"))))
            // Scaled integers: within half a count.
            #expect(abs(decode(points["suction_pressure"]!, from: regs, base: 0)! - expected("suction_pressure")) <= 0.005 + 1e-9)
            #expect(abs(decode(points["flow"]!, from: regs, base: 0)! - expected("flow")) <= 0.05 + 1e-9)
            #expect(try client.readDiscreteInputs(0, 2).get() == [true, false])
            clock.advance(byNanoseconds: 7_500_000_000)
        }
        #expect(device.requestsServed == 6)
    }

    @Test func tcpSlaveServesFloatInCDABOrder() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port)
        let regs = try client.readInputRegisters(2, 2).get()
        let bits = Float(expected("discharge_pressure_b")).bitPattern
        #expect(regs == [UInt16(bits & 0xFFFF), UInt16(bits >> 16)])  // low word first
        let abcd = try client.readInputRegisters(0, 2).get()
        let bitsA = Float(expected("discharge_pressure_a")).bitPattern
        #expect(abcd == [UInt16(bitsA >> 16), UInt16(bitsA & 0xFFFF)])
    }

    /// A sample-counted spike rides on exactly the next N replies that read its point, whatever
    /// the poll timing; reads of other registers do not use it up.
    @Test func sampleCountedSpikeRidesOnExactlyTheNextReadsOfItsPoint() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port)
        let key = PointKey(device: "pump-plc", point: "discharge_pressure_a")
        let point = Fixture.pumpPLC.points.first { $0.id == "discharge_pressure_a" }!
        model.setSampleSpike(5, samples: 2, for: key)
        _ = try client.readInputRegisters(2, 2).get()          // discharge_pressure_b only
        #expect(model.pendingSampleSpikes(for: key) == 2)
        var seen: [Double] = []
        for _ in 0..<4 {
            let regs = try client.readInputRegisters(0, 2).get()
            seen.append(decode(point, from: regs, base: 0)! - Double(Float(expected("discharge_pressure_a"))))
        }
        #expect(seen.map { ($0 * 10).rounded() / 10 } == [5, 5, 0, 0])
        #expect(model.pendingSampleSpikes(for: key) == 0)
    }

    @Test func writtenHoldingRegistersAndCoilsReadBack() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port)
        try client.writeRegister(100, 725).get()
        try client.writeRegisters(110, [0x0308]).get()
        try client.writeCoil(1, true).get()
        clock.advance(byNanoseconds: 1_000_000_000)
        #expect(try client.readHoldingRegisters(100, 1).get() == [725])
        #expect(try client.readHoldingRegisters(110, 1).get() == [0x0308])
        #expect(try client.readCoils(0, 2).get() == [false, true])
        #expect(device.currentValue(ofPoint: "pump1_speed_setpoint").map { ($0 * 10).rounded() } == 725)
        #expect(device.currentValue(ofPoint: "pump_status_mode") == 3)
        #expect(device.currentValue(ofPoint: "pump_status_fault_bit") == 1)
        #expect(device.currentValue(ofPoint: "pump2_run_cmd") == 1)
    }

    @Test func requestOutsideTheMapGetsIllegalDataAddress() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port)
        // Input registers 0..<8 are mapped; 8 is not, nor is the holding register after 110.
        #expect(client.readInputRegisters(7, 2).failure == .exception(.illegalDataAddress))
        #expect(client.readHoldingRegisters(111, 1).failure == .exception(.illegalDataAddress))
        #expect(client.readHoldingRegisters(99, 1).failure == .exception(.illegalDataAddress))
        // Holding 100...110 is one mapped block, gaps included.
        #expect(try client.readHoldingRegisters(100, 11).get().count == 11)
    }

    @Test func injectedExceptionCodeReachesClient() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port)
        device.setException(.serverDeviceBusy)
        #expect(client.readInputRegisters(0, 2).failure == .exception(.serverDeviceBusy))
        // Only function 4 at addresses 4...5: other requests are answered.
        device.setException(.serverDeviceFailure, functionCode: 4, addresses: 4...5)
        #expect(client.readInputRegisters(0, 4).failure == nil)
        #expect(client.readInputRegisters(2, 4).failure == .exception(.serverDeviceFailure))
        #expect(client.readHoldingRegisters(100, 1).failure == nil)
        device.setException(nil)
        #expect(client.readInputRegisters(2, 4).failure == nil)
    }

    @Test func noReplyTimesTheClientOut() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port, responseTimeoutMilliseconds: 200)
        device.setNoReply(true)
        #expect(client.readInputRegisters(0, 2).failure == .timeout)
        #expect(device.requestsReceived == 1)
        #expect(device.requestsServed == 0)
        device.setNoReply(false)
        // The swallowed request left nothing behind: the next transaction works.
        #expect(client.readInputRegisters(0, 2).failure == nil)
    }

    @Test func replyDelayLongerThanTheTimeoutTimesTheClientOut() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port, responseTimeoutMilliseconds: 100)
        device.setReplyDelay(milliseconds: 300)
        #expect(client.readInputRegisters(0, 2).failure == .timeout)
        device.setReplyDelay(milliseconds: 0)
        client.flush()
    }

    @Test func shortReplyDelayStillAnswersButNotBeforeTheDelay() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port, responseTimeoutMilliseconds: 1000)
        device.setReplyDelay(milliseconds: 80)
        let start = monotonicSeconds()
        #expect(client.readInputRegisters(0, 2).failure == nil)
        #expect(monotonicSeconds() - start >= 0.080)
    }

    @Test func disconnectDropsConnectionsAndRefusesNewOnesUntilReconnect() throws {
        defer { device.stop() }
        let client = try RawClient.tcp(port: port)
        #expect(client.readInputRegisters(0, 2).failure == nil)
        device.disconnect()
        let failure = client.readInputRegisters(0, 2).failure
        #expect(failure != nil && [ECONNRESET, EPIPE, EBADF, ECONNREFUSED].contains(failure!.errno), "got \(String(describing: failure))")
        // New connections are refused while disconnected.
        #expect(throws: ModbusFailure(errno: ECONNREFUSED)) { _ = try RawClient.tcp(port: port) }
        device.reconnect()
        let again = try RawClient.tcp(port: port)
        #expect(again.readInputRegisters(0, 2).failure == nil)
    }

    @Test func timedDisconnectHealsByItself() throws {
        defer { device.stop() }
        device.disconnect(forMilliseconds: 150)
        #expect(throws: ModbusFailure.self) { _ = try RawClient.tcp(port: port) }
        #expect(eventually {
            guard let c = try? RawClient.tcp(port: port) else { return false }
            return c.readInputRegisters(0, 2).failure == nil
        })
        #expect(device.faults.disconnected == false)
    }

    @Test func severalClientsAreServedAtOnce() throws {
        defer { device.stop() }
        let clients = try (0..<4).map { _ in try RawClient.tcp(port: port) }
        for c in clients + clients.reversed() {
            #expect(c.readInputRegisters(0, 8).failure == nil)
        }
        #expect(device.requestsServed == 8)
    }

    @Test func stopJoinsAndClosesThePort() throws {
        let client = try RawClient.tcp(port: port)
        #expect(client.readInputRegisters(0, 2).failure == nil)
        device.stop()
        #expect(throws: ModbusFailure(errno: ECONNREFUSED)) { _ = try RawClient.tcp(port: port) }
        device.stop()  // idempotent
    }

    @Test func mbpollReadsRegistersFromTheTCPSim() throws {
        defer { device.stop() }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mbpoll") else {
            print("skipping mbpoll check: /usr/bin/mbpoll is not installed")
            return
        }
        let client = try RawClient.tcp(port: port)
        try client.writeRegister(100, 4321).get()

        func mbpoll(_ args: [String]) throws -> [Int: String] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/mbpoll")
            p.arguments = args + ["-p", "\(port)", "127.0.0.1"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(p.terminationStatus == 0, "mbpoll said: \(text)")
            // Lines look like "[100]: \t4321".
            var values: [Int: String] = [:]
            for line in text.split(separator: "\n") where line.hasPrefix("[") {
                let parts = line.dropFirst().split(separator: "]", maxSplits: 1)
                guard parts.count == 2, let ref = Int(parts[0]) else { continue }
                values[ref] = parts[1].drop { $0 == ":" || $0 == " " || $0 == "\t" }.split(separator: " ").first.map(String.init)
            }
            return values
        }
        // -0: PDU (0-based) addresses, as in the config.
        let holding = try mbpoll(["-m", "tcp", "-a", "1", "-0", "-r", "100", "-c", "1", "-t", "4", "-1"])
        #expect(holding[100] == "4321")
        // A big-endian float in the input table (discharge_pressure_a, ABCD).
        let float = try mbpoll(["-m", "tcp", "-a", "1", "-0", "-r", "0", "-c", "1", "-t", "3:float", "-B", "-1"])
        let read = float[0].flatMap(Double.init)
        #expect(read != nil && abs(read! - expected("discharge_pressure_a")) < 1e-4, "mbpoll read \(String(describing: float[0]))")
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
