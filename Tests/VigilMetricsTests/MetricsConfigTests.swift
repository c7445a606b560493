import Foundation
import Testing
import Config
import VigilCore

@Suite struct MetricsConfigTests {
    static let plant = """
    name: metrics-test
    devices:
      - id: plc
        transport: tcp
        host: 127.0.0.1
        port: 502
        points:
          - { id: p, function: input, address: 0, type: float32, unit: bar }
    sensors:
      - { id: PT-1, device: plc, point: p, range: [0, 16], quantity: pressure }

    """

    static func load(_ metrics: String) throws -> PlantConfig {
        let path = NSTemporaryDirectory() + "vigil-metrics-config-\(UUID().uuidString).yaml"
        try (plant + metrics).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConfigLoader.loadPlant(path: path).plant
    }

    static func problems(_ metrics: String) -> [String] {
        ConfigChecker.check(text: plant + metrics, path: "p.yaml").map(\.description)
    }

    @Test func offByDefaultOnLoopback() throws {
        let config = try Self.load("")
        #expect(config.metrics == MetricsConfig())
        #expect(!config.metrics.enabled)
        #expect(config.metrics.listen.description == MetricsConfig.defaultListen)
        #expect(config.metrics.path == "/metrics")
    }

    @Test func everyKeyIsRead() throws {
        let config = try Self.load("metrics: { enabled: true, listen: \"[::1]:9100\", path: /prom }\n")
        #expect(config.metrics.enabled)
        #expect(config.metrics.listen == MetricsListenAddress(host: "::1", port: 9100))
        #expect(config.metrics.listen.isLoopback)
        #expect(config.metrics.path == "/prom")
        let remote = try Self.load("metrics: { enabled: true, listen: 0.0.0.0:9464, allow_remote: true }\n")
        #expect(remote.metrics.listen.host == "0.0.0.0" && remote.metrics.allowRemote)
    }

    @Test func aRemoteAddressIsRefusedWithoutAllowRemote() {
        let found = Self.problems("metrics:\n  enabled: true\n  listen: 192.0.2.10:9464\n")
        #expect(found.count == 1)
        #expect(found.first?.contains("p.yaml:13:11: metrics.listen") == true, "\(found)")
        #expect(found.first?.contains("allow_remote: true") == true)
    }

    @Test func listenAddressesParse() {
        #expect(MetricsListenAddress(parsing: "127.0.0.1:9464") == MetricsListenAddress(host: "127.0.0.1", port: 9464))
        #expect(MetricsListenAddress(parsing: "localhost:0") == MetricsListenAddress(host: "127.0.0.1", port: 0))
        #expect(MetricsListenAddress(parsing: "127.1.2.3:80")?.isLoopback == true)
        #expect(MetricsListenAddress(parsing: "[::1]:9464")?.isLoopback == true)
        #expect(MetricsListenAddress(parsing: "[0:0:0:0:0:0:0:1]:9464")?.isLoopback == true)
        #expect(MetricsListenAddress(parsing: "[fe80::1]:9464")?.isLoopback == false)
        #expect(MetricsListenAddress(parsing: "10.0.0.1:9464")?.isLoopback == false)
        for bad in ["127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "host.example:9464", "256.0.0.1:1", "[::1]9464", "::1:9464", "[::g]:1",
                    "127.0.0.1:+1", "1.2.3:4"] {
            #expect(MetricsListenAddress(parsing: bad) == nil, "\(bad)")
        }
    }
}
