import Foundation
import Testing
import HIL
import VigilCore

/// Devices with a backup path get a second simulator over the same model, on a second loopback
/// port (TCP) or a second pty pair (RTU), reachable and faultable apart from the primary.
@Suite("Rig backup paths")
struct RigBackupPathTests {
    @Test func tcpBackupGatewayServesTheSameDeviceOnASecondPort() throws {
        var plc = Fixture.pumpPLC
        plc.backup = .tcp(host: "127.0.0.1", port: 15030)
        let rig = try SimulatedRig(plant: PlantConfig(name: "b", devices: [plc], simulationSignals: Fixture.signals), seed: 3)
        defer { rig.stop() }
        let device = try #require(rig.plant.device(id: "pump-plc"))
        guard case .tcp(_, let primaryPort) = device.transport, case .tcp(let host, let backupPort)? = device.backup else {
            Issue.record("pump-plc lost its TCP paths"); return
        }
        #expect(host == "127.0.0.1" && backupPort != primaryPort && backupPort != 15030)
        #expect(rig.backupDevice("pump-plc")?.listeningPort == backupPort)
        let primary = try RawClient.tcp(port: primaryPort), backup = try RawClient.tcp(port: backupPort)
        #expect(try primary.readDiscreteInputs(0, 1).get() == [true])
        #expect(try backup.readDiscreteInputs(0, 1).get() == [true])

        // A gateway fault breaks only the primary path; a device fault breaks both.
        let injector = FaultInjector(rig: rig)
        let gateway = ScheduledFault(at: 0, target: .gateway("pump-plc"), kind: .exception)
        try injector.apply(gateway, index: 0)
        #expect(primary.readDiscreteInputs(0, 1).failure != nil)
        #expect(try backup.readDiscreteInputs(0, 1).get() == [true])
        try injector.remove(gateway, index: 0)
        let device0 = ScheduledFault(at: 0, target: .device("pump-plc"), kind: .exception)
        try injector.apply(device0, index: 1)
        #expect(primary.readDiscreteInputs(0, 1).failure != nil)
        #expect(backup.readDiscreteInputs(0, 1).failure != nil)
        try injector.remove(device0, index: 1)
        let onlyBackup = ScheduledFault(at: 0, target: .backupGateway("pump-plc"), kind: .exception)
        try injector.apply(onlyBackup, index: 2)
        #expect(try primary.readDiscreteInputs(0, 1).get() == [true])
        #expect(backup.readDiscreteInputs(0, 1).failure != nil)

        // The config text for a separate process points at both servers.
        let text = "    port: 15020\n    backup: { host: 127.0.0.1, port: 15030 }\n"
        #expect(rig.configText(rewriting: text, configDirectory: "/x")
                == "    port: \(primaryPort)\n    backup: { host: 127.0.0.1, port: \(backupPort) }\n")
    }

    @Test func rtuBackupPortIsASecondLineToTheSameUnits() throws {
        var temps = Fixture.rtuTemps, valve = Fixture.rtuValve
        var backupSettings = Fixture.rtuSettings
        backupSettings.port = "usb-rs485"
        temps.backup = .rtu(backupSettings)
        valve.backup = .rtu(backupSettings)
        let rig = try SimulatedRig(plant: PlantConfig(name: "b", devices: [temps, valve], simulationSignals: Fixture.signals), seed: 3)
        defer { rig.stop() }
        let primaryLine = try #require(rig.line("rs485-0")), backupLine = try #require(rig.line("usb-rs485"))
        #expect(primaryLine.clientPath != backupLine.clientPath)
        guard case .rtu(let b)? = rig.plant.device(id: "rtu-valve")?.backup else { Issue.record("no backup line"); return }
        #expect(b.port == backupLine.clientPath && b.baud == 19200)
        let primary = try RawClient.rtu(path: primaryLine.clientPath, unit: 4)
        let backup = try RawClient.rtu(path: backupLine.clientPath, unit: 4)
        #expect(try backup.readHoldingRegisters(0, 1).get() == [77])
        // Breaking the primary line (a `gateway` fault on an RTU device) leaves the backup line answering.
        let injector = FaultInjector(rig: rig)
        try injector.apply(ScheduledFault(at: 0, target: .gateway("rtu-valve"), kind: .disconnect), index: 0)
        #expect(primary.readHoldingRegisters(0, 1).failure != nil)
        #expect(try backup.readHoldingRegisters(0, 1).get() == [77])
    }
}
