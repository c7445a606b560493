import Foundation
import Logging
import VigilCore
import Config
import Fieldbus
import HIL
import Journal
import Runtime
import CBenchLoops
import CAllocCounter
import CommandSupport

/// The scan-cycle half of `vigil-bench run`: wake-up lateness against a plain C `clock_nanosleep`
/// loop, the cycle's compute cost against a loopback Modbus round trip, allocations per cycle,
/// and the peak RSS of `vigil run`.
struct CycleBench {
    let rounds: Int
    let logger = makeLogger("vigil-bench", level: .critical)

    /// The demo plant with its period set, served by an in-process rig.
    func demoPlant(periodMicroseconds: Int) throws -> (PlantConfig, BoardConfig?) {
        let loaded = try ConfigLoader.loadPlant(path: "configs/demo-pump-station.yaml")
        var plant = loaded.plant
        plant.cycle.periodMicroseconds = periodMicroseconds
        return (plant, loaded.board)
    }

    /// A 64-sensor plant: 4 TCP devices × 16 float32 transmitters, 16 groups of 3 redundant
    /// transmitters (plus 16 singles), 16 PID loops on holding registers, 16 limits (8 interlocks).
    static func plant64(periodMicroseconds: Int) -> PlantConfig {
        var devices: [DeviceConfig] = [], sensors: [SensorConfig] = [], outputs: [OutputConfig] = []
        for d in 0..<4 {
            var points = (0..<16).map { i in
                PointConfig(id: "pt\(i)", function: .input, address: 2 * i, type: .float32, unit: "bar",
                            simulation: PointSimulation(source: .inline(SignalSpec(shape: .sine, base: 5, amplitude: 0.5, periodSeconds: 30)), noise: 0.01))
            }
            points += (0..<4).map { PointConfig(id: "sp\($0)", function: .holding, address: 100 + $0, type: .uint16, scale: 0.1) }
            devices.append(DeviceConfig(id: "dev\(d)", transport: .tcp(host: "127.0.0.1", port: 0), pollIntervalMilliseconds: 50, points: points))
            for i in 0..<16 {
                sensors.append(SensorConfig(id: "S\(d)-\(i)", source: .point(device: "dev\(d)", point: "pt\(i)"), rangeMin: 0, rangeMax: 16, unit: "bar", quantity: "pressure"))
            }
            for i in 0..<4 { outputs.append(OutputConfig(id: "O\(d)-\(i)", target: .point(device: "dev\(d)", point: "sp\(i)"), initial: 0, safe: 0)) }
        }
        let groups = (0..<16).map { g in
            RedundancyGroupConfig(id: "G\(g)", quantity: "pressure", primary: sensors[3 * g].id, backups: [sensors[3 * g + 1].id, sensors[3 * g + 2].id])
        }
        let controls = (0..<16).map { c in
            ControlConfig(id: "C\(c)", input: groups[c].id, output: outputs[c].id, law: .pid(PIDLaw(setpoint: 5, kp: 2, ki: 0.5, kd: 0.1)))
        }
        let limits = (0..<16).map { l in
            LimitConfig(id: "L\(l)", subject: groups[l].id, high: 12, severity: l < 8 ? .interlock : .alarm,
                        safeOutputs: l < 8 ? [outputs[l].id] : [])
        }
        return PlantConfig(name: "bench-64", devices: devices, sensors: sensors, redundancyGroups: groups, outputs: outputs,
                           limits: limits, cycle: CycleConfig(periodMicroseconds: periodMicroseconds), controls: controls)
    }

    /// Runs a controller on `plant` (served by an in-process rig) for `cycles` cycles after
    /// warm-up, and returns its timing and steady-state allocations.
    func runController(_ plant: PlantConfig, board: BoardConfig?, cycles: UInt64) throws -> (CycleTimingSummary, allocationsPerCycle: Double) {
        let clock = SystemMonotonicClock()
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: nil, seed: 1, clock: clock)
        defer { rig.stop() }
        let gpio = try board.flatMap { b -> GPIOPlant? in
            let hasGPIO = rig.plant.sensors.contains { if case .gpio = $0.source { true } else { false } }
            guard hasGPIO else { return nil }
            return try GPIOPlant(config: rig.plant, board: SimulatedGPIO.board(for: b, boardFile: "bench", plant: rig.plant, clock: clock).0, clock: clock)
        }
        let path = NSTemporaryDirectory() + "vigil-bench-\(getpid()).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let controller = try Controller(plant: rig.plant, board: board, gpio: gpio, journal: try Journal(path: path), logger: logger,
                                        notifier: nil, allocationCounter: vigil_thread_allocations)
        try controller.start()
        defer { controller.stop() }
        _ = controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000)
        let period = UInt64(plant.cycle.periodMicroseconds) * 1000
        Shutdown.sleep(nanoseconds: 200 * period) // warm-up (first connections, first events)
        controller.resetTiming()
        let start = controller.timing.cycles
        while controller.timing.cycles - start < cycles && !Shutdown.isRequested {
            Shutdown.sleep(nanoseconds: 50 * period)
        }
        let timing = controller.timing
        let (allocations, counted) = controller.steadyStateAllocations
        return (timing, counted > 0 ? Double(allocations) / Double(counted) : .nan)
    }

    /// Lateness of the plain C loop: p50, p99, p99.9 in microseconds.
    func cLoop(periodNanoseconds: UInt64, iterations: Int) -> (p50: Double, p99: Double, p999: Double) {
        var lateness = [UInt64](repeating: 0, count: iterations)
        lateness.withUnsafeMutableBufferPointer { vigil_bench_c_sleep_loop(periodNanoseconds, iterations, $0.baseAddress!) }
        lateness.sort()
        func pct(_ p: Double) -> Double { Double(lateness[min(iterations - 1, Int(Double(iterations) * p / 100))]) / 1000 }
        return (pct(50), pct(99), pct(99.9))
    }

    /// Wake-up lateness of the demo plant's cycle against the plain C loop at 1 ms and 10 ms.
    /// C and Vigil rounds alternate; each ratio is taken within a round (the two ran back to back,
    /// under the same load) and the median over rounds is reported with its spread.
    func lateness() throws {
        for periodMicroseconds in [1000, 10_000] {
            let (plant, board) = try demoPlant(periodMicroseconds: periodMicroseconds)
            // Enough cycles that p99.9 is a tail, not the maximum: ≥ 3,000 per round.
            let cycles: UInt64 = periodMicroseconds == 1000 ? 10_000 : 3000
            var p99Ratios: [Double] = [], p999Ratios: [Double] = [], lines: [String] = []
            for _ in 0..<rounds {
                let c = cLoop(periodNanoseconds: UInt64(periodMicroseconds) * 1000, iterations: Int(cycles))
                let (v, _) = try runController(plant, board: board, cycles: cycles)
                p99Ratios.append(v.latenessP99Microseconds / c.p99)
                p999Ratios.append(v.latenessP999Microseconds / c.p999)
                lines.append(String(format: "C p50/p99/p99.9 %.0f/%.0f/%.0f µs, Vigil %.0f/%.0f/%.0f µs → p99 %.2f, p99.9 %.2f",
                                    c.p50, c.p99, c.p999, v.latenessP50Microseconds, v.latenessP99Microseconds, v.latenessP999Microseconds,
                                    p99Ratios.last!, p999Ratios.last!))
            }
            print(String(format: "  cycle lateness @ %d ms (demo plant, %llu cycles × %d rounds), Vigil/C: p99 %.2f (%.2f–%.2f; target ≤ 0.6), p99.9 %.2f (%.2f–%.2f; target ≤ 1.0)",
                         periodMicroseconds / 1000, cycles, rounds, median(p99Ratios), p99Ratios.min()!, p99Ratios.max()!,
                         median(p999Ratios), p999Ratios.min()!, p999Ratios.max()!))
            for l in lines { print("    " + l) }
        }
    }

    /// The cycle's compute (its own work, I/O excluded) against one loopback Modbus round trip,
    /// both measured in the same round; the median of the per-round ratios is reported.
    func computeCost() throws {
        // One loopback Modbus round trip: read 10 registers from a simulated device.
        let config = DeviceConfig(id: "rtt", transport: .tcp(host: "127.0.0.1", port: 0),
                                  points: (0..<10).map { PointConfig(id: "r\($0)", function: .holding, address: $0, type: .uint16) })
        let sim = try SimulatedModbusDevice(config: config, model: PlantModel(plant: PlantConfig(name: "rtt", devices: [config])))
        defer { sim.stop() }
        let port = try sim.serveTCP()
        var served = config
        served.transport = .tcp(host: "127.0.0.1", port: port)
        let clock = SystemMonotonicClock()
        let poller = DevicePoller(device: served, link: ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: port), clock: clock), clock: clock)
        func roundTrip() -> Double {
            var rtts: [Double] = []
            for _ in 0..<2000 {
                poller.poll()
                rtts.append(Double(poller.reading(at: 0).latencyNanoseconds) / 1000)
            }
            return median(rtts)
        }
        let (demo, board) = try demoPlant(periodMicroseconds: 10_000)
        let big = Self.plant64(periodMicroseconds: 10_000)
        var demoRatios: [Double] = [], bigRatios: [Double] = [], bigP99Ratios: [Double] = [], lines: [String] = []
        var demoAllocations = 0.0, bigAllocations = 0.0
        for _ in 0..<rounds {
            let before = roundTrip()
            let (d, dAlloc) = try runController(demo, board: board, cycles: 1000)
            let (b, bAlloc) = try runController(big, board: nil, cycles: 1000)
            let rtt = median([before, roundTrip()])
            demoRatios.append(d.durationP50Microseconds / rtt)
            bigRatios.append(b.durationP50Microseconds / rtt)
            bigP99Ratios.append(b.durationP99Microseconds / rtt)
            demoAllocations = max(demoAllocations, dAlloc)
            bigAllocations = max(bigAllocations, bAlloc)
            lines.append(String(format: "round trip %.1f µs; demo p50/p99 %.1f/%.1f µs; 64 sensors p50/p99 %.1f/%.1f µs",
                                rtt, d.durationP50Microseconds, d.durationP99Microseconds, b.durationP50Microseconds, b.durationP99Microseconds))
        }
        print(String(format: "  cycle compute / loopback Modbus round trip (read 10 registers), %d rounds: demo (13 sensors) p50 %.3f (%.3f–%.3f); "
                     + "64 sensors, 16 PID, 16 groups p50 %.3f (%.3f–%.3f; target ≤ 0.25), p99 %.3f; allocations/cycle %.4f and %.4f",
                     rounds, median(demoRatios), demoRatios.min()!, demoRatios.max()!, median(bigRatios), bigRatios.min()!, bigRatios.max()!,
                     median(bigP99Ratios), demoAllocations, bigAllocations))
        for l in lines { print("    " + l) }
    }

    /// Peak RSS (VmHWM) of a `vigil run` child polling an in-process rig for `seconds`.
    /// Peak RSS of `vigil run` on the demo config; with `mqtt`, once more with its Sparkplug edge node
    /// publishing to a Mosquitto broker on loopback, and the difference.
    /// `vigil` names the binary to run (default: the `vigil` beside this benchmark, same build).
    func peakRSS(seconds: Double, mqtt: Bool = false, vigil: String? = nil) throws {
        let plain = try runForRSS(seconds: seconds, broker: nil, vigil: vigil)
        print("  vigil run (\(vigil ?? "the vigil beside vigil-bench")) on the demo config for \(Int(seconds)) s: peak RSS (VmHWM) \(plain.peak), "
              + "RSS now \(plain.now) (target ≤ 32 MiB); exit \(plain.status)")
        guard mqtt else { return }
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let withMQTT = try runForRSS(seconds: seconds, broker: broker.url, vigil: vigil)
        let delta = (Self.kilobytes(withMQTT.peak) ?? 0) - (Self.kilobytes(plain.peak) ?? 0)
        print("  the same with MQTT (Sparkplug edge node on \(broker.url)): peak RSS (VmHWM) \(withMQTT.peak), RSS now \(withMQTT.now); "
              + "the edge node costs \(delta) kB of peak RSS; exit \(withMQTT.status)")
    }

    private static func kilobytes(_ field: String) -> Int? { Int(field.split(separator: " ").first ?? "") }

    /// Peak RSS of `vigil run` on the demo config with the Prometheus exporter on and scraped every second.
    func peakRSSWithMetrics(seconds: Double, vigil: String?) throws {
        let r = try runForRSS(seconds: seconds, broker: nil, vigil: vigil, metricsPort: 19_464)
        print("  vigil run on the demo config with metrics on (127.0.0.1:19464, scraped every second, \(r.scrapes) scrapes) for \(Int(seconds)) s: "
              + "peak RSS (VmHWM) \(r.peak), RSS now \(r.now) (target ≤ 32 MiB); exit \(r.status)")
    }

    private func runForRSS(seconds: Double, broker: String?, vigil: String?, metricsPort: UInt16? = nil) throws -> (peak: String, now: String, status: Int32, scrapes: Int) {
        let plant = try ConfigLoader.loadPlant(path: "configs/demo-pump-station.yaml").plant
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: nil, seed: 1)
        defer { rig.stop() }
        let cwd = FileManager.default.currentDirectoryPath
        var text = rig.configText(rewriting: try String(contentsOfFile: "configs/demo-pump-station.yaml", encoding: .utf8),
                                  configDirectory: cwd + "/configs")
        if let broker { text += "\nmqtt: { brokers: [\"\(broker)\"], group: bench, edge_node: rss }\n" }
        if let metricsPort { text += "\nmetrics: { enabled: true, listen: \"127.0.0.1:\(metricsPort)\" }\n" }
        let config = NSTemporaryDirectory() + "vigil-rss-\(getpid()).yaml"
        let journal = NSTemporaryDirectory() + "vigil-rss-\(getpid()).sqlite"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        defer { for f in [config, journal, journal + "-wal", journal + "-shm"] { try? FileManager.default.removeItem(atPath: f) } }
        let child = Process()
        // The controller that runs a plant: the one named, else the `vigil` beside this benchmark (same build).
        child.executableURL = vigil.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("vigil")
        // The checkout's shipped model, named so that a binary outside the checkout runs the policy service too.
        child.arguments = ["run", "--config", config, "--journal", journal, "--mock-gpio", "--log-level", "error",
                           "--shipped-models", cwd + "/models"]
        try child.run()
        var scrapes = 0
        if let metricsPort {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end && !Shutdown.isRequested {
                if Scraper.scrape(port: metricsPort) { scrapes += 1 }
                Shutdown.sleep(nanoseconds: 1_000_000_000)
            }
        } else {
            Shutdown.sleep(nanoseconds: UInt64(seconds * 1e9))
        }
        let status = (try? String(contentsOfFile: "/proc/\(child.processIdentifier)/status", encoding: .utf8)) ?? ""
        let field = { (name: String) in status.split(separator: "\n").first { $0.hasPrefix(name) }.map { String($0.dropFirst(name.count)).trimmingCharacters(in: .whitespaces) } ?? "?" }
        let result = (field("VmHWM:"), field("VmRSS:"))
        child.terminate()
        child.waitUntilExit()
        return (result.0, result.1, child.terminationStatus, scrapes)
    }
}
