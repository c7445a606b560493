import ArgumentParser
import Foundation
import VigilCore
import Fieldbus
import HIL
import CModbus
import CBenchLoops
import CommandSupport

/// `vigil-bench run` (the default): poll throughput of Vigil's full read path (planner, connection, decode,
/// quality) against a plain C loop of `modbus_read_registers` on the same simulated server,
/// alternating in the same run; and the paced virtual serial line against its frame-time limit.
///
/// A benchmark, not a test: it prints figures and ratios, it asserts nothing.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Measure Vigil's Modbus read path against a plain C libmodbus loop, same server, same run.",
        discussion: """
        Each case alternates rounds of the C reference and of Vigil's path (C, Vigil, C, Vigil, …) \
        and prints the median transactions/s of each and the median of the per-pair ratios, so \
        load from other processes hits both sides alike. Build with -c release for meaningful figures.
        """
    )

    @Option(name: .long, help: "Rounds per side and case.")
    var rounds = 5

    @Option(name: .long, help: ArgumentHelp("Seconds per round.", valueName: "SECONDS"))
    var seconds = 0.4

    @Option(name: .long, help: "Cases to run, comma-separated: tcp, rtu, paced, lateness, compute, rss, rss-mqtt (rss, then with the Sparkplug edge node on a loopback Mosquitto), metrics (cycle lateness with the Prometheus exporter on and scraped vs off), rss-metrics (rss with metrics on and scraped).")
    var only = "tcp,rtu,paced,lateness,compute"

    @Option(name: .long, help: ArgumentHelp("How long the rss case runs vigil run.", valueName: "SECONDS"))
    var rssSeconds = 600.0

    @Option(name: .long, help: ArgumentHelp("The vigil binary the rss cases run (default: the one beside vigil-bench), e.g. the static build scripts/package-deb packages or an installed /usr/bin/vigil.", valueName: "PATH"))
    var vigil: String?

    @Option(name: .long, help: ArgumentHelp("The metrics case's cycle thread under SCHED_FIFO at this priority (1...99; default: the demo's SCHED_OTHER).", valueName: "N"))
    var fifoPriority: Int?

    func validate() throws {
        if let fifoPriority, !(1...99).contains(fifoPriority) { throw ValidationError("--fifo-priority must be in 1...99") }
        if rounds < 1 { throw ValidationError("--rounds must be at least 1") }
        if seconds <= 0 { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        let cases = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        print("vigil-bench: \(rounds) rounds × \(seconds) s per side; ratios are Vigil / reference (higher is better)")
        if cases.contains("tcp") {
            for count in [10, 125] { try benchTCP(registers: count) }
        }
        if cases.contains("rtu") {
            for count in [10, 125] { try benchRTU(registers: count) }
        }
        if cases.contains("paced") {
            for baud in [9600, 115200] { try benchPaced(baud: baud, registers: 10) }
        }
        Shutdown.install()
        let cycle = CycleBench(rounds: max(1, min(rounds, 3)))
        if cases.contains("lateness") { try cycle.lateness() }
        if cases.contains("compute") { try cycle.computeCost() }
        if cases.contains("rss") || cases.contains("rss-mqtt") { try cycle.peakRSS(seconds: rssSeconds, mqtt: cases.contains("rss-mqtt"), vigil: vigil) }
        if cases.contains("metrics") { try cycle.metricsCost(fifoPriority: fifoPriority) }
        if cases.contains("rss-metrics") { try cycle.peakRSSWithMetrics(seconds: rssSeconds, vigil: vigil) }
    }

    // MARK: Cases

    /// A device with `count` uint16 holding registers from address 0, planned into one read.
    private func device(registers count: Int, transport: DeviceTransport) -> DeviceConfig {
        DeviceConfig(id: "bench", transport: transport, unitID: 1, responseTimeoutMilliseconds: 1000, byteTimeoutMilliseconds: 500,
                     points: (0..<count).map { PointConfig(id: "r\($0)", function: .holding, address: $0, type: .uint16) })
    }

    private func benchTCP(registers count: Int) throws {
        let config = device(registers: count, transport: .tcp(host: "127.0.0.1", port: 0))
        let sim = try SimulatedModbusDevice(config: config, model: PlantModel(plant: PlantConfig(name: "bench", devices: [config]), seed: 1))
        defer { sim.stop() }
        let port = try sim.serveTCP(port: 0)
        var served = config
        served.transport = .tcp(host: "127.0.0.1", port: port)
        guard let c = modbus_new_tcp("127.0.0.1", Int32(port)) else { throw ValidationError("modbus_new_tcp failed") }
        defer { modbus_close(c); modbus_free(c) }
        modbus_set_response_timeout(c, 1, 0)
        guard modbus_connect(c) == 0 else { throw ValidationError("C client could not connect to the simulator on port \(port)") }
        let clock = SystemMonotonicClock()
        let poller = DevicePoller(device: served, link: ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: port), clock: clock), clock: clock)
        try compare(label: "TCP loopback, read \(count) registers", registers: count, cContext: c, poller: poller)
    }

    private func benchRTU(registers count: Int) throws {
        let settings = RTUSettings(port: "bench", baud: 115200, parity: .even)
        let line = try VirtualSerialLine(pacing: .unpaced)
        defer { line.close() }
        let config = device(registers: count, transport: .rtu(settings))
        let sim = try SimulatedModbusDevice(config: config, model: PlantModel(plant: PlantConfig(name: "bench", devices: [config]), seed: 1))
        defer { sim.stop() }
        try sim.serveRTU(path: line.devicePath)
        var served = config
        var clientSettings = settings
        clientSettings.port = line.clientPath
        served.transport = .rtu(clientSettings)
        guard let c = modbus_new_rtu(line.clientPath, 115200, CChar(UInt8(ascii: "E")), 8, 1) else { throw ValidationError("modbus_new_rtu failed") }
        defer { modbus_close(c); modbus_free(c) }
        modbus_set_slave(c, 1)
        modbus_set_response_timeout(c, 1, 0)
        let clock = SystemMonotonicClock()
        let poller = DevicePoller(device: served, link: ModbusLink(connection: try ModbusConnection(serialPath: line.clientPath, settings: clientSettings), clock: clock), clock: clock)
        // libmodbus opens a serial port exclusively (TIOCEXCL): the two masters take turns owning
        // the line, each opening it before its round and closing it after, outside the timed part.
        try compare(label: "RTU virtual line unpaced, read \(count) registers", registers: count, cContext: c, poller: poller,
                    exclusiveLine: true)
    }

    private func benchPaced(baud: Int, registers count: Int) throws {
        let settings = RTUSettings(port: "bench", baud: baud, parity: .even)
        let line = try VirtualSerialLine(pacing: .paced(baud: baud, bitsPerCharacter: settings.bitsPerCharacter))
        defer { line.close() }
        var clientSettings = settings
        clientSettings.port = line.clientPath
        let config = device(registers: count, transport: .rtu(settings))
        let sim = try SimulatedModbusDevice(config: config, model: PlantModel(plant: PlantConfig(name: "bench", devices: [config]), seed: 1))
        defer { sim.stop() }
        try sim.serveRTU(path: line.devicePath)
        var served = config
        served.transport = .rtu(clientSettings)
        let clock = SystemMonotonicClock()
        let poller = DevicePoller(device: served, link: ModbusLink(connection: try ModbusConnection(serialPath: line.clientPath, settings: clientSettings), clock: clock), clock: clock)
        // Frame-time limit: request 8 bytes, response 5 + 2N bytes, a 3.5-character silence after each frame.
        let characters = Double(8 + 5 + 2 * count) + 2 * 3.5
        let limit = Double(baud) / (Double(settings.bitsPerCharacter) * characters)
        let seconds = max(self.seconds * Double(rounds), 40 / limit) // at least ~40 transactions
        let (tx, failures) = timeVigil(poller: poller, seconds: seconds, batch: 1)
        print(String(format: "  %@: %.1f tx/s, limit %.1f tx/s (%d chars × %d bits @ %d baud) → ratio %.3f%@",
                     "RTU paced \(baud) baud, read \(count) registers", tx, limit, Int(characters.rounded(.up)), settings.bitsPerCharacter,
                     baud, tx / limit, failures > 0 ? " (\(failures) failed)" : ""))
    }

    // MARK: Measurement

    private func compare(label: String, registers count: Int, cContext: OpaquePointer, poller: DevicePoller,
                         exclusiveLine: Bool = false) throws {
        func takeC() throws {
            guard exclusiveLine else { return }
            poller.link.connection.close()
            guard modbus_connect(cContext) == 0 else { throw ValidationError("C client could not open the line") }
        }
        func takeVigil() {
            guard exclusiveLine else { return }
            modbus_close(cContext)
            _ = poller.link.ensureConnected()
        }
        var cRates: [Double] = [], vigilRates: [Double] = [], ratios: [Double] = []
        var failures = 0
        let dest = UnsafeMutablePointer<UInt16>.allocate(capacity: 125)
        defer { dest.deallocate() }
        // Warm-up: connections, caches, the simulator's first refresh.
        try takeC()
        _ = vigil_bench_c_read_loop(cContext, 0, Int32(count), 50, dest)
        takeVigil()
        _ = timeVigil(poller: poller, seconds: 0.05)
        for _ in 0..<rounds {
            try takeC()
            let (c, cf) = timeC(context: cContext, count: count, dest: dest)
            takeVigil()
            let (v, vf) = timeVigil(poller: poller, seconds: seconds)
            cRates.append(c); vigilRates.append(v); ratios.append(v / c)
            failures += cf + vf
        }
        let c = median(cRates), v = median(vigilRates)
        print(String(format: "  %@: C %.0f tx/s (%.0f reg/s), Vigil %.0f tx/s (%.0f reg/s) → ratio %.3f (pairs %@)%@",
                     label, c, c * Double(count), v, v * Double(count), median(ratios),
                     ratios.map { String(format: "%.2f", $0) }.joined(separator: " "),
                     failures > 0 ? "; \(failures) failed transactions" : ""))
    }

    private func timeC(context: OpaquePointer, count: Int, dest: UnsafeMutablePointer<UInt16>) -> (Double, Int) {
        let start = vigil_bench_now_ns()
        let end = start + UInt64(seconds * 1e9)
        var n = 0, failures = 0
        var now = start
        while now < end {
            failures += vigil_bench_c_read_loop(context, 0, Int32(count), 64, dest)
            n += 64
            now = vigil_bench_now_ns()
        }
        return (Double(n) / (Double(now - start) / 1e9), failures)
    }

    private func timeVigil(poller: DevicePoller, seconds: Double, batch: Int = 64) -> (Double, Int) {
        let before = poller.statistics
        let start = vigil_bench_now_ns()
        let end = start + UInt64(seconds * 1e9)
        var now = start
        while now < end {
            for _ in 0..<batch { poller.poll() }
            now = vigil_bench_now_ns()
            if poller.blocks.isEmpty { break }
        }
        let s = poller.statistics
        let n = s.transactions - before.transactions
        let failed = (s.timeouts - before.timeouts) + (s.exceptions - before.exceptions) + (s.crcOrFramingErrors - before.crcOrFramingErrors)
        return (Double(n) / (Double(now - start) / 1e9), failed)
    }
}
