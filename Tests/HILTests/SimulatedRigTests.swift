import Foundation
import Testing
import HIL
import VigilCore

/// The whole fixture plant started at once, polled through the rewritten config.
@Suite("Simulated rig")
struct SimulatedRigTests {
    @Test func rigRewritesThePlantToWhereTheSimulatorsListen() throws {
        let rig = try SimulatedRig(plant: Fixture.plant, ports: .ephemeral, seed: 3)
        defer { rig.stop() }
        #expect(Set(rig.devices.keys) == ["pump-plc", "rtu-temps", "rtu-valve"])
        #expect(Array(rig.lines.keys) == ["rs485-0"])
        let line = try #require(rig.line("rs485-0"))

        guard case .tcp(let host, let port) = try #require(rig.plant.device(id: "pump-plc")).transport else {
            Issue.record("pump-plc is not TCP any more"); return
        }
        #expect(host == "127.0.0.1")
        #expect(port != 15020 && port > 0)
        #expect(rig.device("pump-plc")?.listeningPort == port)
        let tcp = try RawClient.tcp(port: port)
        #expect(try tcp.readDiscreteInputs(0, 1).get() == [true])

        // Both RTU devices point at the line's client side, with their serial settings kept.
        for id in ["rtu-temps", "rtu-valve"] {
            guard case .rtu(let s) = try #require(rig.plant.device(id: id)).transport else {
                Issue.record("\(id) is not RTU any more"); return
            }
            #expect(s.port == line.clientPath)
            #expect(s.baud == 19200 && s.parity == .even)
        }
        let rtu = try RawClient.rtu(path: line.clientPath, unit: 4)
        #expect(try rtu.readHoldingRegisters(0, 1).get() == [77])

        // Faults are reachable by device id and port name.
        rig.device("rtu-valve")?.setException(.illegalFunction)
        #expect(rtu.readHoldingRegisters(0, 1).failure == .exception(.illegalFunction))
        rig.device("rtu-valve")?.clearFaults()
        rig.model.setOverride(.stuck(at: 12), for: PointKey(device: "rtu-valve", point: "valve_position"))
        #expect(try rtu.readHoldingRegisters(0, 1).get() == [12])
    }

    @Test func rigWithPortOffsetListensOnConfiguredPortPlusOffset() throws {
        let plant = PlantConfig(name: "one", devices: [Fixture.pumpPLC], simulationSignals: Fixture.signals)
        // A high offset keeps clear of a demo sim someone may run by hand on 15020.
        let offset = 20_000 + Int(getpid() % 20_000)
        let rig = try SimulatedRig(plant: plant, ports: .offset(offset))
        defer { rig.stop() }
        #expect(rig.device("pump-plc")?.listeningPort == 15020 + offset)
        let client = try RawClient.tcp(port: 15020 + offset)
        #expect(client.readInputRegisters(0, 2).failure == nil)
    }

    @Test func stoppingTheRigReleasesEverything() throws {
        let rig = try SimulatedRig(plant: Fixture.plant)
        let port = rig.device("pump-plc")!.listeningPort!
        rig.stop()
        rig.stop()
        #expect(throws: ModbusFailure.self) { _ = try RawClient.tcp(port: port) }
    }
}

@Suite("Rig endpoints")
struct RigEndpointTests {
    @Test func endpointsSayWhereToPollAndHow() {
        var plc = Fixture.pumpPLC
        plc.transport = .tcp(host: "127.0.0.1", port: 15020)
        let tcp = RigEndpoint(device: plc)
        #expect(tcp.listening == "tcp 127.0.0.1:15020 unit 1")
        #expect(tcp.mbpollCommand == "mbpoll -m tcp -a 1 -0 -r 0 -c 8 -t 3 -1 -p 15020 127.0.0.1")
        var temps = Fixture.rtuTemps
        temps.transport = .rtu(RTUSettings(port: "/dev/pts/7", baud: 19200, parity: .even))
        let rtu = RigEndpoint(device: temps)
        #expect(rtu.listening == "rtu /dev/pts/7 19200 8E1 unit 3")
        #expect(rtu.mbpollCommand == "mbpoll -m rtu -a 3 -b 19200 -P even -d 8 -s 1 -0 -r 0 -c 4 -t 4 -1 /dev/pts/7")
    }
}
