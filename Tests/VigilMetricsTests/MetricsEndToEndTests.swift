import Foundation
import Glibc
import Testing
import Logging
import Config
import Fieldbus
import HIL
import Journal
import Runtime
import VigilCore
import VigilMetrics

/// The demo plant on the simulated rig (libmodbus slaves on loopback TCP, a virtual serial line,
/// mock GPIO chips), the real controller, and the exporter served on a loopback port.
final class MetricsHarness {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let rig: SimulatedRig
    let controller: Controller
    let journalPath: String

    init(adjust: (inout PlantConfig) -> Void = { _ in }, minimumPeriodMicroseconds: Int = 1000,
         allocationCounter: (@convention(c) () -> UInt64)? = nil) throws {
        let loaded = try ConfigLoader.loadPlant(path: Self.root.appendingPathComponent("configs/demo-pump-station.yaml").path)
        var plant = loaded.plant
        adjust(&plant)
        let clock = SystemMonotonicClock()
        rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: .unpaced, seed: 3, clock: clock)
        let (gpioBoard, _) = SimulatedGPIO.board(for: loaded.board!, boardFile: "boards/raspberry-pi-4.yaml", plant: rig.plant, clock: clock)
        let gpio = try GPIOPlant(config: rig.plant, board: gpioBoard, clock: clock)
        journalPath = NSTemporaryDirectory() + "vigil-metrics-test-\(UUID().uuidString).sqlite"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        controller = try Controller(plant: rig.plant, board: loaded.board, gpio: gpio, journal: try Journal(path: journalPath), logger: logger,
                                    notifier: nil, minimumPeriodMicroseconds: minimumPeriodMicroseconds, allocationCounter: allocationCounter)
        try controller.start()
    }

    func shutdown() {
        controller.stop()
        rig.stop()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: journalPath + suffix) }
    }
}

/// A plain HTTP/1.1 exchange over a loopback socket: status line, headers and body.
struct HTTPExchange {
    var status: Int
    var headers: [String: String]
    var body: String

    static func send(_ method: String, _ path: String, port: UInt16, timeoutSeconds: Int = 10) throws -> HTTPExchange {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard Glibc.send(fd, request, request.count, 0) == request.count else { throw POSIXError(.EIO) }
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw POSIXError(.EBADMSG) }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return HTTPExchange(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}

/// Waits for a condition another thread makes true; the bound only turns a hang into a failure.
/// Sleeps with `Task.sleep`, so the wait holds no thread the HTTP server's tasks could use.
func eventually(within seconds: Double = 30, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

@Suite(.serialized) struct MetricsEndToEndTests {
    @Test func scrapesOfARunningControllerMoveAndPassPromtool() async throws {
        let h = try MetricsHarness()
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 30_000_000_000))
        let collector = try MetricsCollector(controller: h.controller, build: BuildInfo(version: "test"))
        collector.attach()
        defer { collector.detach() }
        var config = MetricsConfig(enabled: true)
        config.listen = MetricsListenAddress(host: "127.0.0.1", port: 0)
        let server = try MetricsServer(collector: collector, config: config)
        let port = try await server.start(timeoutSeconds: 10)
        #expect(port != 0)

        let first = try HTTPExchange.send("GET", "/metrics", port: port)
        #expect(first.status == 200)
        #expect(first.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let a = ExpositionText(first.body)
        let cyclesA = try #require(a.value("vigil_cycles_total"))

        var b = a, scraped = first.body
        #expect(await eventually {
            guard let r = try? HTTPExchange.send("GET", "/metrics", port: port), r.status == 200 else { return false }
            b = ExpositionText(r.body)
            scraped = r.body
            return (b.value("vigil_cycles_total") ?? 0) > cyclesA
                && b.value("vigil_device_up", ["device": "pump-plc"]) == 1
                && (b.value("vigil_device_requests_total", ["device": "pump-plc"]) ?? 0) > 0
                && (b.value("vigil_device_round_trip_seconds_count", ["device": "pump-plc"]) ?? 0) > 0
                && (b.value("vigil_cycle_duration_seconds_count") ?? 0) > 0
        }, "cycles, device traffic and the cycle histograms move between scrapes")
        for sensor in h.controller.plant.sensors.map(\.id) {
            let states = b.all("vigil_sensor_health", ["sensor": sensor])
            #expect(states.count == 5 && states.reduce(0) { $0 + $1.value } == 1, "\(sensor)'s health state set sums to 1")
        }
        #expect(b.value("vigil_cycle_period_seconds") == Double(h.controller.plant.cycle.periodMicroseconds) / 1e6)
        #expect(b.value("vigil_safe_state") == 0)
        #expect(b.all("vigil_group_active_source", ["group": "discharge-pressure"]).reduce(0) { $0 + $1.value } == 1)
        #expect((b.value("process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((b.value("process_start_time_seconds") ?? 0) > 1_600_000_000)
        for (name, type) in contractFamilies where name != "vigil_trust_score" {
            #expect(b.types[name] == type, "\(name)")
        }

        #expect(scraped.contains("vigil_cycles_total "))
        let (status, output) = try promtoolCheck(scraped)
        #expect(status == 0, "\(output)")
        #expect(output.isEmpty, "promtool lint: \(output)")

        // The Grafana dashboard reads only metrics this scrape has, and its PromQL parses.
        // The trust score appears with the first repair outcome (MetricsMappingTests), which this rig has none of.
        let dashboard = try runScript("scripts/check-dashboard", ["--metrics", "-", "--optional", "vigil_trust_score"], stdin: scraped)
        #expect(dashboard.status == 0, "scripts/check-dashboard: \(dashboard.stdout)\(dashboard.stderr)")
        #expect(dashboard.stdout.contains("OK ("), "\(dashboard.stdout)")

        #expect(try HTTPExchange.send("GET", "/other", port: port).status == 404)
        #expect(try HTTPExchange.send("POST", "/metrics", port: port).status == 404)
        #expect(try HTTPExchange.send("GET", "/metrics/", port: port).status == 404)

        // A safe state shows in the next scrape.
        h.controller.submit(.requestSafeState)
        #expect(await eventually {
            guard let r = try? HTTPExchange.send("GET", "/metrics", port: port) else { return false }
            let t = ExpositionText(r.body)
            return t.value("vigil_safe_state") == 1 && t.value("vigil_safe_state_reasons", ["reason": "operator_request"]) == 1
        })
        await server.stop(timeoutSeconds: 2)
        #expect((try? HTTPExchange.send("GET", "/metrics", port: port)) == nil, "nothing listens after stop")
    }

    @Test func aPortInUseIsAnErrorNotAHang() async throws {
        let h = try MetricsHarness()
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 30_000_000_000))
        let collector = try MetricsCollector(controller: h.controller, build: BuildInfo(version: "test"))
        var config = MetricsConfig(enabled: true)
        config.listen = MetricsListenAddress(host: "127.0.0.1", port: 0)
        let first = try MetricsServer(collector: collector, config: config)
        let port = try await first.start()
        config.listen.port = port
        let second = try MetricsServer(collector: collector, config: config)
        await #expect(throws: MetricsServerError.self) { try await second.start(timeoutSeconds: 10) }
        await first.stop()
    }
}
