import Foundation

/// Locations found from this source file, so tests work wherever `swift test` runs from.
enum FixturePaths {
    /// `Tests/ConfigTests/Fixtures`
    static let fixtures: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    /// The package root.
    static let root: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static let demoConfig = root + "/configs/demo-pump-station.yaml"
    static let boardFiles = ["raspberry-pi-4", "raspberry-pi-5", "beaglebone-black", "generic-gateway"]
        .map { root + "/boards/\($0).yaml" }

    /// Names (without `.yaml`) of the broken fixtures.
    static var brokenNames: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: fixtures + "/broken")) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// A diagnostic line with the fixtures folder removed, as the `.expected` files spell paths.
    static func relative(_ line: String) -> String {
        line.replacingOccurrences(of: fixtures + "/", with: "")
    }
}
