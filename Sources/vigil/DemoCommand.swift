import ArgumentParser
import Foundation
import Logging
import VigilCore
import Fieldbus
import HIL
import Runtime

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

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive, got \(duration)") }
        if !(refresh > 0 && refresh <= 50) { throw ValidationError("--refresh must be in (0, 50], got \(refresh)") }
    }

    func run() throws {
        let logger = makeLogger("vigil", level: .warning)
        let loaded = try loadPlantOrExit(path: config, boardPath: nil)
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
        let controller = try startController(plant: rig.plant, board: loaded.board, gpio: gpio, journalPath: journalPath, logger: logger)
        defer { controller.stop() }

        let view = LiveView(plant: loaded.plant, interactive: isatty(STDOUT_FILENO) == 1)
        let start = clock.nowNanoseconds()
        let end = duration.map { start &+ UInt64($0 * 1e9) }
        let interval = UInt64(1e9 / refresh)
        while !Shutdown.isRequested {
            let now = clock.nowNanoseconds()
            print(view.render(controller.snapshot(), elapsedNanoseconds: now &- start), terminator: "")
            fflush(nil)
            if let end, now >= end { break }
            Shutdown.sleep(nanoseconds: min(interval, (end ?? .max) &- now))
        }
        print(view.render(controller.snapshot(), elapsedNanoseconds: clock.nowNanoseconds() &- start), terminator: "")
        print(Shutdown.isRequested ? "vigil demo: interrupted; outputs to safe state, journal flushed" : "vigil demo: done")
    }
}
