import Foundation
import Config
import VigilCore
@testable import Replay

/// Plants, paths and helpers of the replay tests.
enum ReplayTestSupport {
    /// The package root, found from this file.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let demoConfig = root + "/configs/demo-pump-station.yaml"

    static func demoPlant() throws -> PlantConfig { try ConfigLoader.loadPlant(path: demoConfig).plant }

    /// PT-1 and PT-2 (a redundancy group) and FT-1 on one PLC polled every 100 ms, and a GPIO switch SW.
    static func smallPlant() -> PlantConfig {
        func sensor(_ id: String, _ point: String) -> SensorConfig {
            SensorConfig(id: id, source: .point(device: "plc", point: point), rangeMin: 0, rangeMax: 100)
        }
        let plc = DeviceConfig(id: "plc", transport: .tcp(host: "127.0.0.1", port: 502), pollIntervalMilliseconds: 100)
        return PlantConfig(
            name: "small", devices: [plc],
            sensors: [sensor("PT-1", "p1"), sensor("PT-2", "p2"), sensor("FT-1", "f1"),
                      SensorConfig(id: "SW", source: .gpio(GPIOInputSettings(line: "GPIO17")), rangeMin: 0, rangeMax: 1)],
            redundancyGroups: [RedundancyGroupConfig(id: "pressure", primary: "PT-1", backups: ["PT-2"])])
    }

    /// A recording of in-memory CSV texts (name, text) for `plant`.
    static func recording(_ files: [(String, String)], plant: PlantConfig = smallPlant(),
                          options: RecordingOptions = RecordingOptions()) throws(ReplayError) -> Recording {
        try Recording.parse(files.map { ($0.0, Array($0.1.utf8)) }, plant: plant, options: options)
    }

    /// The `ReplayError` a recording is refused with, as text (nil when it loads).
    static func refusal(_ files: [(String, String)], plant: PlantConfig = smallPlant(),
                        options: RecordingOptions = RecordingOptions()) -> String? {
        do throws(ReplayError) {
            _ = try recording(files, plant: plant, options: options)
            return nil
        } catch {
            return error.description
        }
    }

    /// A fresh temporary folder.
    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-replay-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
