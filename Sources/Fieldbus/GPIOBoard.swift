import VigilCore

/// Opens GPIO lines by their board-wide names (`GPIO17`) from a board file, on whichever backend
/// `openChip` provides; every error names the chip, the line and the board file.
///
/// Chips are opened on first use and kept for the board's lifetime.
public final class GPIOBoard {
    public let config: BoardConfig
    /// Path of the board file, for messages (`boards/raspberry-pi-4.yaml`).
    public let boardFile: String
    private let openChip: (String) throws(GPIOError) -> any GPIOChip
    private var chips: [String: any GPIOChip] = [:]

    /// A board whose chips are opened by `openChip` (for example `MockGPIOChip` in tests).
    public init(config: BoardConfig, boardFile: String, openChip: @escaping (String) throws(GPIOError) -> any GPIOChip) {
        self.config = config
        self.boardFile = boardFile
        self.openChip = openChip
    }

    /// A board on the real character devices, through libgpiod.
    public static func libgpiod(config: BoardConfig, boardFile: String) -> GPIOBoard {
        GPIOBoard(config: config, boardFile: boardFile) { name throws(GPIOError) in try LibgpiodChip(name: name) }
    }

    /// Requests a configured input (its line, active-low and bias); debounce is up to the caller.
    public func input(_ settings: GPIOInputSettings, consumer: String = "vigil",
                      edges: GPIOEdgeDetection = .none) throws(GPIOError) -> any GPIOInputLine {
        let (chip, spec) = try resolve(settings.line)
        do {
            return try chip.requestInput(offset: spec.offset, GPIOInputRequest(settings, consumer: consumer, edges: edges))
        } catch {
            throw error.adding(line: spec.name, offset: spec.offset, boardFile: boardFile)
        }
    }

    /// Requests an output line by its board-wide name.
    public func output(line name: String, activeLow: Bool = false, initial: Bool = false,
                       consumer: String = "vigil") throws(GPIOError) -> any GPIOOutputLine {
        let (chip, spec) = try resolve(name)
        do {
            return try chip.requestOutput(offset: spec.offset, GPIOOutputRequest(consumer: consumer, activeLow: activeLow, initial: initial))
        } catch {
            throw error.adding(line: spec.name, offset: spec.offset, boardFile: boardFile)
        }
    }

    /// Finds a line in the board file and opens (or reuses) its chip, checking the chip's label.
    private func resolve(_ name: String) throws(GPIOError) -> (any GPIOChip, GPIOLineSpec) {
        guard let (chipSpec, lineSpec) = config.line(named: name) else {
            throw GPIOError(.noSuchLine, chip: nil, line: name, boardFile: boardFile)
        }
        if let chip = chips[chipSpec.name] { return (chip, lineSpec) }
        let chip: any GPIOChip
        do {
            chip = try openChip(chipSpec.name)
        } catch {
            throw error.adding(line: lineSpec.name, offset: lineSpec.offset, boardFile: boardFile)
        }
        if let expected = chipSpec.label, !expected.isEmpty, chip.label != expected {
            throw GPIOError(.wrongChip(expectedLabel: expected, foundLabel: chip.label), chip: chipSpec.name,
                            line: lineSpec.name, offset: lineSpec.offset, boardFile: boardFile)
        }
        chips[chipSpec.name] = chip
        return (chip, lineSpec)
    }
}
