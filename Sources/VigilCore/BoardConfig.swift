/// A board: its GPIO chips and lines, serial ports, and the CPU the cycle thread prefers.
/// Decoded from `boards/*.yaml`.
public struct BoardConfig: Sendable, Hashable {
    public var name: String
    public var description: String?
    public var gpioChips: [GPIOChipSpec]
    public var serialPorts: [SerialPortSpec]
    /// CPU to pin the cycle thread to; nil lets the scheduler choose.
    public var cycleCPU: Int?

    public init(name: String, description: String? = nil, gpioChips: [GPIOChipSpec] = [],
                serialPorts: [SerialPortSpec] = [], cycleCPU: Int? = nil) {
        self.name = name
        self.description = description
        self.gpioChips = gpioChips
        self.serialPorts = serialPorts
        self.cycleCPU = cycleCPU
    }

    /// Finds a GPIO line by its board-wide name.
    public func line(named name: String) -> (chip: GPIOChipSpec, line: GPIOLineSpec)? {
        for chip in gpioChips {
            if let line = chip.lines.first(where: { $0.name == name }) { return (chip, line) }
        }
        return nil
    }

    public func serialPort(named name: String) -> SerialPortSpec? {
        serialPorts.first { $0.name == name }
    }
}

/// A GPIO character device (`/dev/gpiochipN`), named as the kernel names it.
public struct GPIOChipSpec: Sendable, Hashable {
    /// Chip name or path as given to libgpiod (`gpiochip0`, `/dev/gpiochip4`).
    public var name: String
    /// The kernel label of the chip, when known (`pinctrl-bcm2711`), to detect the wrong board.
    public var label: String?
    public var lines: [GPIOLineSpec]

    public init(name: String, label: String? = nil, lines: [GPIOLineSpec]) {
        self.name = name
        self.label = label
        self.lines = lines
    }
}

/// One usable GPIO line of a board.
public struct GPIOLineSpec: Sendable, Hashable {
    /// Board-wide name used by configs (`GPIO17`, `P8_12`).
    public var name: String
    /// Line offset on its chip.
    public var offset: Int
    /// Header pin or note for humans (`pin 11`).
    public var pin: String?

    public init(name: String, offset: Int, pin: String? = nil) {
        self.name = name
        self.offset = offset
        self.pin = pin
    }
}

/// A serial port of a board.
public struct SerialPortSpec: Sendable, Hashable {
    /// Name used by configs (`rs485-0`).
    public var name: String
    /// Device path; prefer stable `/dev/serial/by-id/...` paths for USB adapters.
    public var path: String
    /// Whether the port is an RS-485 transceiver driven by the UART (kernel RS-485 mode).
    public var rs485: Bool
    /// Delay between asserting RTS and sending, for transceivers that need it (microseconds).
    public var rtsDelayMicroseconds: Int

    public init(name: String, path: String, rs485: Bool = false, rtsDelayMicroseconds: Int = 0) {
        self.name = name
        self.path = path
        self.rs485 = rs485
        self.rtsDelayMicroseconds = rtsDelayMicroseconds
    }
}
