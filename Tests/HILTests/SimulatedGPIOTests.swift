import Foundation
import Testing
import VigilCore
import Config
import Fieldbus
@testable import HIL

/// The demo plant's GPIO sensors and outputs on mock chips shaped like the Raspberry Pi 4.
@Suite struct SimulatedGPIOTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func demo() throws -> (PlantConfig, BoardConfig) {
        let loaded = try ConfigLoader.loadPlant(path: Self.root.appendingPathComponent("configs/demo-pump-station.yaml").path)
        return (loaded.plant, try #require(loaded.board))
    }

    @Test func demoInputsRestInactiveAndOutputsStartSafe() throws {
        let (plant, board) = try demo()
        let clock = ManualClock()
        let (gpioBoard, chips) = SimulatedGPIO.board(for: board, boardFile: "boards/raspberry-pi-4.yaml", plant: plant, clock: clock)
        let gpio = try GPIOPlant(config: plant, board: gpioBoard, clock: clock)
        gpio.poll()
        #expect(gpio.sensorIDs == ["LSH-202", "ESTOP"])
        #expect((0..<2).map { gpio.reading(at: $0).value } == [0, 0], "active-low inputs with pull-up read inactive")
        #expect((0..<2).allSatisfy { gpio.reading(at: $0).quality == .good })
        #expect(gpio.outputIDs == ["alarm-beacon", "dosing-pump-enable"])
        // The beacon's safe value is 1 (on): it is lit until the controller has a good cycle.
        #expect(gpio.lastWritten(outputAt: 0) == true)
        // dosing-pump-enable is active-low with safe 0: its physical line rests high.
        #expect(chips[0].isHigh(23))
    }

    @Test func pressedEstopIsReportedOnlyAfterItsDebounceWindow() throws {
        let (plant, board) = try demo()
        let clock = ManualClock(startNanoseconds: 1_000_000)
        let (gpioBoard, chips) = SimulatedGPIO.board(for: board, boardFile: "boards/raspberry-pi-4.yaml", plant: plant, clock: clock)
        let gpio = try GPIOPlant(config: plant, board: gpioBoard, clock: clock)
        chips[0].setLevel(22, high: false) // ESTOP (GPIO22, active low) pressed
        gpio.poll()
        #expect(gpio.reading(at: 1).value == 0, "a 5 ms debounce window has not passed yet")
        clock.advance(byNanoseconds: 5_000_000)
        gpio.poll()
        #expect(gpio.reading(at: 1).value == 1)
    }

    @Test func lineMissingOnTheChipNamesChipLineAndBoardFile() throws {
        let (plant, board) = try demo()
        let clock = ManualClock()
        let chips = SimulatedGPIO.chips(for: board, plant: plant, clock: clock)
        chips[0].failRequests(17)
        let gpioBoard = GPIOBoard(config: board, boardFile: "boards/raspberry-pi-4.yaml", openChip: MockGPIOChip.opener(chips))
        #expect {
            _ = try GPIOPlant(config: plant, board: gpioBoard, clock: clock)
        } throws: { error in
            let text = String(describing: error)
            return text.contains("gpiochip0") && text.contains("GPIO17") && text.contains("boards/raspberry-pi-4.yaml")
        }
    }
}
