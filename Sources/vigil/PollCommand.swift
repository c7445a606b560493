import ArgumentParser
import Foundation
import VigilCore
import Fieldbus
import HIL
import CommandSupport

/// `vigil poll`: polls every device and GPIO line of a config and prints live readings with
/// their quality. Runs against the simulated rig unless `--hardware` is given.
struct PollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Poll a plant's devices and GPIO lines and print live readings with their quality.",
        discussion: """
        By default Vigil starts the simulated devices of the config (real libmodbus slaves on \
        loopback TCP and on paced virtual serial lines, and mock GPIO chips) and polls them. \
        With --hardware it polls the real devices and GPIO character devices the config names.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Plant configuration file.", valueName: "FILE"))
    var config = "configs/demo-pump-station.yaml"

    @Option(name: .long, help: ArgumentHelp("Board file to use instead of the config's board: key.", valueName: "FILE"))
    var board: String?

    @Flag(name: .long, help: "Poll the real devices and GPIO lines instead of the simulated rig.")
    var hardware = false

    @Option(name: .long, help: ArgumentHelp("Stop after this many seconds (default: until Ctrl-C).", valueName: "SECONDS"))
    var duration: Double?

    @Option(name: .long, help: ArgumentHelp("Seconds between printed tables.", valueName: "SECONDS"))
    var every: Double = 1.0

    @Option(name: .long, help: "Seed of the simulated plant's noise.")
    var seed: UInt64 = 1

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive, got \(duration)") }
        if every <= 0 { throw ValidationError("--every must be positive, got \(every)") }
    }

    func run() throws {
        let loaded = try loadPlantOrExit(path: config, boardPath: board)
        let clock = SystemMonotonicClock()
        Shutdown.install()

        var plant = loaded.plant
        var rig: SimulatedRig?
        let gpioBoard: GPIOBoard?
        if hardware {
            gpioBoard = loaded.board.map { GPIOBoard.libgpiod(config: $0, boardFile: loaded.boardFile) }
        } else {
            // Serial lines are paced at their devices' baud rate, as a real RS-485 bus would be.
            let started = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: nil, seed: seed, clock: clock)
            rig = started
            plant = started.plant
            gpioBoard = loaded.board.map { SimulatedGPIO.board(for: $0, boardFile: loaded.boardFile, plant: plant, clock: clock).0 }
        }
        defer { rig?.stop() }

        let modbus = try ModbusPlant(config: plant, board: loaded.board, clock: clock, seed: seed)
        var gpio: GPIOPlant?
        if let gpioBoard {
            do {
                gpio = try GPIOPlant(config: plant, board: gpioBoard, clock: clock)
            } catch {
                printToStandardError("vigil: GPIO unavailable: \(error); polling Modbus devices only")
            }
        }

        let view = ReadingsTable(plant: loaded.plant)
        if let rig { print(view.rigBanner(rig)) }
        let start = clock.nowNanoseconds()
        let end = duration.map { start &+ UInt64($0 * 1e9) }
        let printInterval = UInt64(every * 1e9)
        var nextPrint = start &+ printInterval
        while !Shutdown.isRequested {
            modbus.pollDue()
            gpio?.poll()
            let now = clock.nowNanoseconds()
            if now >= nextPrint {
                print(view.render(modbus: modbus, gpio: gpio, elapsedNanoseconds: now &- start))
                fflush(nil)
                nextPrint = max(nextPrint &+ printInterval, now)
            }
            if let end, now >= end { break }
            let wake = min(modbus.nextDueNanoseconds, nextPrint, end ?? .max)
            if wake > now { Shutdown.sleep(nanoseconds: wake - now) }
        }
        print(view.render(modbus: modbus, gpio: gpio, elapsedNanoseconds: clock.nowNanoseconds() &- start))
        print(Shutdown.isRequested ? "vigil poll: interrupted, simulators stopped" : "vigil poll: done")
    }
}
