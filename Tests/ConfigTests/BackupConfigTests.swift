import Config
import Foundation
import Testing
import VigilCore

/// Backup paths (`backup:`, `backup_port:`) and the slow-polling ceiling decode to what they say.
@Suite struct BackupConfigTests {
    @Test func demoConfigDecodesBackupPathsAndPollCeilings() throws {
        let (plant, _) = try ConfigLoader.loadPlant(path: FixturePaths.demoConfig)
        let plc = try #require(plant.device(id: "pump-plc"))
        #expect(plc.backup == .tcp(host: "127.0.0.1", port: 15030))
        #expect(plc.maxPollIntervalMilliseconds == 400 && plc.pollIntervalCeilingMilliseconds == 400)
        let tank = try #require(plant.device(id: "tank-io"))
        #expect(tank.backup == nil)
        #expect(tank.maxPollIntervalMilliseconds == nil && tank.pollIntervalCeilingMilliseconds == 800) // default 4 × 200 ms
        let rtu = try #require(plant.device(id: "rtu-temps"))
        // The backup line keeps the primary's line settings.
        #expect(rtu.backup == .rtu(RTUSettings(port: "usb-rs485", baud: 19200, parity: .even, dataBits: 8, stopBits: 1)))
    }

    @Test func backupGatewayDefaultsItsHostToThePrimarys() throws {
        let path = NSTemporaryDirectory() + "vigil-backup-\(getpid()).yaml"
        try """
        name: p
        devices:
          - id: plc
            transport: tcp
            host: 10.0.0.5
            port: 502
            backup: { port: 503 }
            points:
              - { id: p1, function: input, address: 0, type: uint16 }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(ConfigChecker.check(path: path).map(\.description) == [])
        let (plant, _) = try ConfigLoader.loadPlant(path: path)
        #expect(plant.devices.first?.backup == .tcp(host: "10.0.0.5", port: 503))
        #expect(plant.devices.first?.pollIntervalCeilingMilliseconds == 400)
    }
}
