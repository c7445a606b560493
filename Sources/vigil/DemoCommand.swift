import ArgumentParser
import Foundation
import Logging
import VigilCore
import Fieldbus
import HIL
import Runtime
import Console
import CommandSupport
import EdgeNode

/// `vigil demo`: the controller against the simulated demo plant, with a live terminal view.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the controller on the simulated demo plant and show a live view.",
        discussion: """
        Starts the simulated devices of the config (Modbus TCP slaves on loopback, an RTU bus on a \
        paced virtual serial line, mock GPIO chips), runs the controller against them and refreshes \
        a view of every sensor, output and the cycle's timing. Ctrl-C shuts down in order.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Plant configuration file.", valueName: "FILE"))
    var config = "configs/demo-pump-station.yaml"

    @Option(name: .long, help: ArgumentHelp("Stop after this many seconds (default: until Ctrl-C).", valueName: "SECONDS"))
    var duration: Double?

    @Option(name: .long, help: "View refreshes per second.")
    var refresh: Double = 4

    @Option(name: .long, help: "Seed of the simulated plant's noise.")
    var seed: UInt64 = 1

    @Option(name: .long, help: ArgumentHelp("Journal database (default: a temporary file, removed at exit).", valueName: "FILE"))
    var journal: String?

    @Option(name: .long, help: ArgumentHelp("Inject a fault into the simulated plant (repeatable), e.g. \"PT-101A stuck at 25s\", \"device tank-io disconnect at 15s for 10s\", \"signal discharge_pressure excursion 5 at 30s for 5s\". A sensor's detectors arm after 200 of its samples (20 s at the pump PLC's 100 ms poll): inject sensor faults after that.", valueName: "FAULT"))
    var inject: [String] = []

    @Option(name: .long, help: ArgumentHelp("Serve the operator console: pty (prints the path to attach to with screen or picocom), stdio (this terminal; no live view), config (the plant file's console: port) or a serial device path.", valueName: "WHERE"))
    var console: String?

    @Flag(name: .long, help: "No live view (the console, logs and the final line only).")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("Publish the demo as a Sparkplug B edge node (group vigil-demo, edge node pump-station) on this broker, e.g. mqtt://127.0.0.1:1883. The plant file's mqtt: section is used when it has one.", valueName: "URL"))
    var broker: String?

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics on this loopback address, e.g. 127.0.0.1:9464 (GET /metrics). The plant file's metrics: section is used when it enables them.", valueName: "ADDR"))
    var metrics: String?

    func validate() throws {
        if let console { _ = try ConsoleChoice(console) }
        if let metrics {
            guard let address = MetricsListenAddress(parsing: metrics) else {
                throw ValidationError("--metrics: \(metrics) is not IPV4:PORT, [IPV6]:PORT or localhost:PORT")
            }
            guard address.isLoopback else { throw ValidationError("--metrics: \(metrics) is not a loopback address; use the plant file's metrics: section with allow_remote: true") }
        }
        if let broker {
            do { _ = try MQTTBrokerAddress(parsing: broker) } catch { throw ValidationError("--broker: \(error)") }
        }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive, got \(duration)") }
        if !(refresh > 0 && refresh <= 50) { throw ValidationError("--refresh must be in (0, 50], got \(refresh)") }
    }

    func run() throws {
        let logger = makeLogger("vigil", level: .warning)
        let loaded = try loadPlantOrExit(path: config, boardPath: nil)
        let injections = try inject.map { try DemoInjection($0, periodMilliseconds: Double(loaded.plant.cycle.periodMicroseconds) / 1000) }
        Shutdown.install()
        let clock = SystemMonotonicClock()
        let rig = try SimulatedRig(plant: loaded.plant, ports: .ephemeral, pacing: nil, seed: seed, clock: clock)
        defer { rig.stop() }
        let gpioBoard = loaded.board.map { SimulatedGPIO.board(for: $0, boardFile: loaded.boardFile, plant: rig.plant, clock: clock).0 }
        let gpio = try openGPIO(plant: rig.plant, board: gpioBoard, logger: logger)
        let journalPath = journal ?? NSTemporaryDirectory() + "vigil-demo-\(getpid()).sqlite"
        defer {
            if journal == nil {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: journalPath + suffix) }
            }
        }
        let modelDirectory = journal == nil ? NSTemporaryDirectory() + "vigil-demo-models-\(getpid())" : nil
        defer { if let modelDirectory { try? FileManager.default.removeItem(atPath: modelDirectory) } }
        let controller = try startController(plant: rig.plant, board: loaded.board, gpio: gpio, journalPath: journalPath, logger: logger,
                                             modelDirectory: modelDirectory)
        var consoleServer: ConsoleServer?
        var edgeNode: EdgeNodeService?
        var metricsEndpoint: MetricsEndpoint?
        // Outputs safe first: a console busy with a command, the learner, a broker or a scrape never delays them.
        defer { controller.stop(); edgeNode?.stop(); consoleServer?.stop(); metricsEndpoint?.stop() }
        if let address = metrics.flatMap(MetricsListenAddress.init(parsing:)) {
            metricsEndpoint = startMetrics(MetricsConfig(enabled: true, listen: address), controller: controller, logger: logger)
        } else if loaded.plant.metrics.enabled {
            metricsEndpoint = startMetrics(loaded.plant.metrics, controller: controller, logger: logger)
        }
        if let metricsEndpoint {
            print("vigil demo: Prometheus metrics on \(metricsEndpoint.url)")
            fflush(nil)
        }
        let consoleChoice = try console.map(ConsoleChoice.init) ?? .none
        consoleServer = try startConsole(consoleChoice, controller: controller, board: loaded.board, logger: logger)
        if let mqtt = broker.map({ MQTTConfig(brokers: [$0], groupID: "vigil-demo", edgeNodeID: "pump-station") }) ?? loaded.plant.mqtt {
            edgeNode = try startEdgeNode(mqtt, controller: controller, plantFile: config, logger: logger)
        }
        let showView = !quiet && consoleChoice != .stdio
        if let path = consoleServer?.ptyPath {
            print("vigil demo: console on \(path) — attach with: screen \(path)")
            fflush(nil)
        }

        let injector = FaultInjector(rig: rig)
        for i in injections { try injector.validate(i.fault) }
        var applied = Array(repeating: false, count: injections.count), removed = applied
        var view = LiveView(plant: loaded.plant, interactive: isatty(STDOUT_FILENO) == 1)
        if let path = consoleServer?.ptyPath { view.header = "console: screen \(path)" }
        if let metricsEndpoint { view.notes.append("metrics: \(metricsEndpoint.url)") }
        view.policyModelVersion = controller.policyModelVersion
        view.policyModelAssists = loaded.plant.monitor.policyModel.assist
        let start = clock.nowNanoseconds()
        let end = duration.map { start &+ UInt64($0 * 1e9) }
        let interval = UInt64(1e9 / refresh)
        var nextRender = start
        while !Shutdown.isRequested {
            let cycle = controller.snapshot().cycle
            for (i, injection) in injections.enumerated() {
                if !applied[i] && cycle >= injection.fault.at {
                    try injector.apply(injection.fault, index: i)
                    applied[i] = true
                    view.notes.append("cycle \(cycle): injected \(injection.text)")
                    if !showView { print("vigil demo: cycle \(cycle): injected \(injection.text)"); fflush(nil) }
                }
                if applied[i] && !removed[i], let end = injection.fault.until, cycle >= end {
                    try injector.remove(injection.fault, index: i)
                    removed[i] = true
                    view.notes.append("cycle \(cycle): removed \(injection.text)")
                    if !showView { print("vigil demo: cycle \(cycle): removed \(injection.text)"); fflush(nil) }
                }
            }
            let now = clock.nowNanoseconds()
            if let end, now >= end { break }
            if showView && now >= nextRender {
                view.policyModelVersion = controller.policyModelVersion // a deployment or rollback meanwhile
                print(view.render(controller.snapshot(), elapsedNanoseconds: now &- start), terminator: "")
                fflush(nil)
                nextRender = max(nextRender &+ interval, now)
            }
            // Pending injections are checked every 20 ms (two cycles at the demo's period); the view
            // still refreshes only `refresh` times a second.
            let pending = injections.indices.contains { !applied[$0] || (!removed[$0] && injections[$0].fault.until != nil) }
            let wake = min(showView ? nextRender : .max, end ?? .max, pending ? now &+ 20_000_000 : .max)
            if wake > now { Shutdown.sleep(nanoseconds: wake - now) }
        }
        if showView { print(view.render(controller.snapshot(), elapsedNanoseconds: clock.nowNanoseconds() &- start), terminator: "") }
        print(Shutdown.isRequested ? "vigil demo: interrupted; outputs to safe state, journal flushed" : "vigil demo: done")
    }
}
