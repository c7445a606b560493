import Foundation
import Testing
import VigilCore
import Config
import Fieldbus
@testable import HIL

/// Vigil's own Modbus client against Vigil's simulated devices, over real loopback TCP and the
/// virtual serial line: every injected device and line fault must come out as the right quality,
/// and the poll must go on.
@Suite(.serialized) struct ClientAgainstSimulatorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The demo plant, served by a rig whose plant clock stands still (values are constant),
    /// polled by a client on the real clock (latencies are real).
    struct DemoRig {
        let rig: SimulatedRig
        let plant: ModbusPlant
        init(unpaced: Bool = true, clientClock: any MonotonicClock = SystemMonotonicClock(),
             adjust: (inout PlantConfig) -> Void = { _ in }) throws {
            let loaded = try ConfigLoader.loadPlant(path: root.appendingPathComponent("configs/demo-pump-station.yaml").path)
            var config = loaded.plant
            adjust(&config)
            rig = try SimulatedRig(plant: config, ports: .ephemeral, pacing: unpaced ? .unpaced : nil, seed: 7, clock: ManualClock())
            plant = try ModbusPlant(config: rig.plant, board: loaded.board, clock: clientClock,
                                    backoff: BackoffPolicy(initialMilliseconds: 100, jitterFraction: 0))
        }
        func poller(_ id: String) -> DevicePoller { plant.poller(deviceID: id)! }
        func reading(_ device: String, _ point: String) -> Reading {
            let p = poller(device)
            return p.reading(at: p.device.points.firstIndex { $0.id == point }!)
        }
    }

    @Test func everyDemoPointIsReadGoodWithTheSimulatorsExactValue() throws {
        let demo = try DemoRig()
        defer { demo.rig.stop() }
        demo.plant.pollAll()
        for poller in demo.plant.pollers {
            let sim = demo.rig.device(poller.device.id)!
            for (i, point) in poller.device.points.enumerated() {
                let r = poller.reading(at: i)
                #expect(r.quality == .good, "\(poller.device.id)/\(point.id)")
                #expect(r.value == sim.currentValue(ofPoint: point.id), "\(poller.device.id)/\(point.id)")
                #expect(r.latencyNanoseconds > 0)
            }
        }
        // Redundant transmitters on different devices and word orders see the same process.
        let a = demo.reading("pump-plc", "discharge_pressure_a").value, c = demo.reading("tank-io", "discharge_pressure_c").value
        #expect(abs(a - c) < 0.1)
    }

    @Test func deviceThatAnswersTooLateIsATimeoutAndTheNextPollIsGoodAgain() throws {
        let demo = try DemoRig { $0.devices[1].responseTimeoutMilliseconds = 50 }
        defer { demo.rig.stop() }
        let sim = demo.rig.device("tank-io")!
        sim.setReplyDelay(milliseconds: 150)
        let served = sim.requestsServed
        demo.poller("tank-io").poll()
        #expect(demo.reading("tank-io", "tank_level").quality == .bad(.timeout))
        #expect(demo.poller("tank-io").statistics.transactions == 1, "one timeout per device per poll")
        // The late answer does arrive; it must not be taken for the next request's answer.
        #expect(eventually { sim.requestsServed > served })
        sim.setReplyDelay(milliseconds: 0)
        demo.poller("tank-io").poll()
        #expect(demo.poller("tank-io").readings.allSatisfy { $0.quality == .good })
        #expect(demo.reading("tank-io", "tank_level").value == sim.currentValue(ofPoint: "tank_level"))
    }

    @Test func silentDeviceIsATimeoutWhileTheOtherDevicesStayGood() throws {
        let demo = try DemoRig { $0.devices[0].responseTimeoutMilliseconds = 50 }
        defer { demo.rig.stop() }
        demo.rig.device("pump-plc")!.setNoReply(true)
        demo.plant.pollAll()
        #expect(demo.poller("pump-plc").readings.allSatisfy { $0.quality == .bad(.timeout) })
        #expect(demo.poller("tank-io").readings.allSatisfy { $0.quality == .good })
        #expect(demo.poller("rtu-temps").readings.allSatisfy { $0.quality == .good })
    }

    @Test func injectedExceptionMarksOnlyTheRefusedReadBad() throws {
        let demo = try DemoRig()
        defer { demo.rig.stop() }
        demo.rig.device("pump-plc")!.setException(.serverDeviceBusy, functionCode: 4)
        demo.poller("pump-plc").poll()
        #expect(demo.reading("pump-plc", "discharge_pressure_a").quality == .bad(.exception(.serverDeviceBusy)))
        #expect(demo.reading("pump-plc", "flow").quality == .bad(.exception(.serverDeviceBusy)))
        #expect(demo.reading("pump-plc", "pump1_speed_setpoint").quality == .good, "holding registers were not refused")
        #expect(demo.reading("pump-plc", "pump1_run_cmd").quality == .good)
        #expect(demo.poller("pump-plc").statistics.exceptions == 1)
        #expect(demo.poller("pump-plc").link.connection.isConnected, "an exception is an answer: the link stays up")
    }

    @Test func droppedConnectionIsDisconnectedThenReconnectedAfterBackoff() throws {
        let clock = ManualClock(startNanoseconds: 10_000_000_000)
        let demo = try DemoRig(clientClock: clock)
        defer { demo.rig.stop() }
        let sim = demo.rig.device("tank-io")!
        demo.poller("tank-io").poll()
        #expect(demo.poller("tank-io").readings.allSatisfy { $0.quality == .good })
        sim.disconnect()
        demo.poller("tank-io").poll()
        #expect(demo.poller("tank-io").readings.allSatisfy { $0.quality == .bad(.disconnected) })
        sim.reconnect()
        demo.poller("tank-io").poll() // still inside the 100 ms back-off: no attempt
        #expect(demo.poller("tank-io").readings.allSatisfy { $0.quality == .bad(.disconnected) })
        #expect(demo.poller("tank-io").link.connects == 1)
        clock.advance(byNanoseconds: 100_000_000)
        demo.poller("tank-io").poll()
        #expect(demo.poller("tank-io").readings.allSatisfy { $0.quality == .good })
        #expect(demo.poller("tank-io").link.connects == 2)
    }

    @Test func corruptedAnswerOnTheSerialLineIsACRCErrorAndTheLineRecovers() throws {
        let demo = try DemoRig()
        defer { demo.rig.stop() }
        let line = demo.rig.line("rs485-0")!
        line.corruptNextFrames(1, direction: .toClient)
        demo.poller("rtu-temps").poll()
        #expect(demo.reading("rtu-temps", "water_temp_b").quality == .bad(.crcOrFraming))
        #expect(line.counters.bytesCorrupted == 1)
        demo.poller("rtu-temps").poll()
        #expect(demo.poller("rtu-temps").readings.allSatisfy { $0.quality == .good })
    }

    @Test func droppedByteGapAndLineBreakOnTheSerialLineAreTimeouts() throws {
        let demo = try DemoRig { $0.devices[2].responseTimeoutMilliseconds = 60; $0.devices[2].byteTimeoutMilliseconds = 20 }
        defer { demo.rig.stop() }
        let line = demo.rig.line("rs485-0")!
        let poller = demo.poller("rtu-temps")

        line.dropNextFrames(1, direction: .toDevice)
        poller.poll()
        #expect(demo.reading("rtu-temps", "water_temp_b").quality == .bad(.timeout), "a request missing a byte gets no answer")

        line.breakLine()
        poller.poll()
        #expect(demo.reading("rtu-temps", "water_temp_b").quality == .bad(.timeout))
        line.clearBreak()
        #expect(eventually { poller.poll(); return poller.readings.allSatisfy { $0.quality == .good } })

        // The rest of the answer arrives after the byte timeout: the client gives up on it. (What the
        // late bytes do to the next poll is covered by the recovery below.)
        line.insertGap(milliseconds: 80, frames: 1, direction: .toClient)
        poller.poll()
        #expect(demo.reading("rtu-temps", "water_temp_b").quality.isGood == false, "a gap beyond the byte timeout breaks the answer")
        #expect(eventually { poller.poll(); return poller.readings.allSatisfy { $0.quality == .good } })
    }

    @Test func twoUnitsOnOneSerialLineShareOneConnection() throws {
        let demo = try DemoRig { plant in
            plant.devices.append(DeviceConfig(id: "rtu-valve", transport: plant.devices[2].transport, unitID: 4, points: [
                PointConfig(id: "valve_position", function: .holding, address: 0, type: .uint16,
                            simulation: PointSimulation(source: .inline(SignalSpec(shape: .constant, base: 77)))),
            ]))
        }
        defer { demo.rig.stop() }
        #expect(demo.poller("rtu-temps").link === demo.poller("rtu-valve").link)
        demo.plant.pollAll()
        #expect(demo.reading("rtu-valve", "valve_position").value == 77)
        #expect(demo.poller("rtu-temps").readings.allSatisfy { $0.quality == .good })
    }

    @Test func writesReachTheSimulatedDevice() throws {
        let demo = try DemoRig()
        defer { demo.rig.stop() }
        let plc = demo.poller("pump-plc"), sim = demo.rig.device("pump-plc")!
        let index = { (id: String) in plc.device.points.firstIndex { $0.id == id }! }
        try plc.write(pointIndex: index("pump1_run_cmd"), engineeringValue: 1)
        try plc.write(pointIndex: index("pump1_speed_setpoint"), engineeringValue: 87.5)
        try plc.write(pointIndex: index("pump_status_mode"), engineeringValue: 5)
        #expect(sim.currentValue(ofPoint: "pump1_run_cmd") == 1)
        #expect(sim.currentValue(ofPoint: "pump1_speed_setpoint") == 87.5)
        #expect(sim.currentValue(ofPoint: "pump_status_mode") == 5)
        #expect(sim.currentValue(ofPoint: "pump_status_fault_bit") == 0, "the neighbouring bit field is untouched")
    }
}
