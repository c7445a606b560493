import VigilCore
import Fieldbus

/// Mock GPIO chips shaped like a board's chips, with every configured input resting at its
/// inactive level (so an active-low E-stop with pull-up reads "not pressed").
public enum SimulatedGPIO {
    /// One mock chip per chip of `board`, sized to its highest line offset.
    public static func chips(for board: BoardConfig, plant: PlantConfig, clock: any MonotonicClock) -> [MockGPIOChip] {
        let chips = board.gpioChips.map { spec in
            MockGPIOChip(name: spec.name, label: spec.label ?? "gpio-mock",
                         lineCount: (spec.lines.map(\.offset).max() ?? 0) + 1, clock: clock)
        }
        for sensor in plant.sensors {
            guard case .gpio(let settings) = sensor.source, let (chipSpec, line) = board.line(named: settings.line),
                  let chip = chips.first(where: { $0.name == chipSpec.name }) else { continue }
            chip.setLevel(line.offset, high: settings.activeLow)
        }
        return chips
    }

    /// A `GPIOBoard` backed by mock chips; returns the chips too, for fault injection.
    public static func board(for board: BoardConfig, boardFile: String, plant: PlantConfig,
                             clock: any MonotonicClock) -> (GPIOBoard, [MockGPIOChip]) {
        let chips = chips(for: board, plant: plant, clock: clock)
        return (GPIOBoard(config: board, boardFile: boardFile, openChip: MockGPIOChip.opener(chips)), chips)
    }

    /// Where each GPIO input sensor of `plant` lives on `chips`, by sensor id.
    public static func inputs(of plant: PlantConfig, chips: [MockGPIOChip], board: BoardConfig)
        -> [String: (chip: MockGPIOChip, offset: Int, activeLow: Bool)] {
        var found: [String: (chip: MockGPIOChip, offset: Int, activeLow: Bool)] = [:]
        for sensor in plant.sensors {
            guard case .gpio(let settings) = sensor.source, let (chipSpec, line) = board.line(named: settings.line),
                  let chip = chips.first(where: { $0.name == chipSpec.name }) else { continue }
            found[sensor.id] = (chip, line.offset, settings.activeLow)
        }
        return found
    }
}
