import VigilCore
import GPIODShim

/// A GPIO chip on the Linux character device, through libgpiod (via the GPIODShim C target only).
///
/// Lines keep their chip alive; the chip is closed when the last reference goes.
public final class LibgpiodChip: GPIOChip {
    public let name: String
    public let label: String
    public let lineCount: Int
    private let handle: OpaquePointer

    /// Opens a chip by name (`gpiochip0`) or path (`/dev/gpiochip0`).
    /// The corresponding C functions are `gpiod_chip_open_by_name` / `gpiod_chip_open` (v1), `gpiod_chip_open` (v2).
    public init(name: String) throws(GPIOError) {
        var err: Int32 = 0
        guard let handle = vigil_gpio_chip_open(name, &err) else {
            throw GPIOError(errno: err, opening: true, chip: name)
        }
        self.handle = handle
        self.name = name
        self.label = vigil_gpio_chip_label(handle).map { String(cString: $0) } ?? ""
        self.lineCount = Int(vigil_gpio_chip_num_lines(handle))
    }

    deinit { vigil_gpio_chip_close(handle) }

    /// 1 or 2: the libgpiod API the shim was compiled against.
    public static var apiVersion: Int { Int(vigil_gpiod_api_version()) }

    public func requestInput(offset: Int, _ request: GPIOInputRequest) throws(GPIOError) -> any GPIOInputLine {
        let line = try checkedOffset(offset)
        var err: Int32 = 0
        guard let lineHandle = vigil_gpio_request_input(handle, line, request.consumer, request.activeLow ? 1 : 0,
                                                        Self.shimBias(request.bias), Self.shimEdges(request.edges), &err)
        else { throw GPIOError(errno: err, chip: name, offset: offset) }
        return LibgpiodInputLine(chip: self, handle: lineHandle, offset: offset, hasEdges: request.edges != .none)
    }

    public func requestOutput(offset: Int, _ request: GPIOOutputRequest) throws(GPIOError) -> any GPIOOutputLine {
        let line = try checkedOffset(offset)
        var err: Int32 = 0
        guard let lineHandle = vigil_gpio_request_output(handle, line, request.consumer, request.activeLow ? 1 : 0,
                                                         request.initial ? 1 : 0, &err)
        else { throw GPIOError(errno: err, chip: name, offset: offset) }
        return LibgpiodOutputLine(chip: self, handle: lineHandle, offset: offset, initial: request.initial)
    }

    private func checkedOffset(_ offset: Int) throws(GPIOError) -> UInt32 {
        guard offset >= 0, offset < lineCount else { throw GPIOError(.noSuchLine, chip: name, offset: offset) }
        return UInt32(offset)
    }

    private static func shimBias(_ bias: GPIOBias) -> Int32 {
        switch bias {
        case .asIs: return Int32(VIGIL_GPIO_BIAS_AS_IS)
        case .disabled: return Int32(VIGIL_GPIO_BIAS_DISABLED)
        case .pullUp: return Int32(VIGIL_GPIO_BIAS_PULL_UP)
        case .pullDown: return Int32(VIGIL_GPIO_BIAS_PULL_DOWN)
        }
    }

    private static func shimEdges(_ edges: GPIOEdgeDetection) -> Int32 {
        switch edges {
        case .none: return Int32(VIGIL_GPIO_EDGE_NONE)
        case .rising: return Int32(VIGIL_GPIO_EDGE_RISING)
        case .falling: return Int32(VIGIL_GPIO_EDGE_FALLING)
        case .both: return Int32(VIGIL_GPIO_EDGE_BOTH)
        }
    }
}

/// An input line requested through libgpiod.
final class LibgpiodInputLine: GPIOInputLine {
    let chip: LibgpiodChip
    private var handle: OpaquePointer?
    let offset: Int
    private let hasEdges: Bool

    init(chip: LibgpiodChip, handle: OpaquePointer, offset: Int, hasEdges: Bool) {
        self.chip = chip
        self.handle = handle
        self.offset = offset
        self.hasEdges = hasEdges
    }

    deinit { release() }

    private func live() throws(GPIOError) -> OpaquePointer {
        guard let handle else { throw GPIOError(.released, chip: chip.name, offset: offset) }
        return handle
    }

    /// The corresponding C function is `gpiod_line_get_value` (v1) / `gpiod_line_request_get_value` (v2).
    func read() throws(GPIOError) -> Bool {
        let rc = vigil_gpio_get(try live())
        guard rc >= 0 else { throw GPIOError(errno: rc, chip: chip.name, offset: offset) }
        return rc != 0
    }

    /// The corresponding C functions are `gpiod_line_event_wait` + `gpiod_line_event_read` (v1).
    func nextEdge(timeoutNanoseconds: UInt64) throws(GPIOError) -> GPIOEdgeEvent? {
        let handle = try live()
        guard hasEdges else { throw GPIOError(.unsupported, chip: chip.name, offset: offset) }
        let waited = vigil_gpio_event_wait(handle, Int64(clamping: timeoutNanoseconds))
        guard waited >= 0 else { throw GPIOError(errno: waited, chip: chip.name, offset: offset) }
        guard waited > 0 else { return nil }
        var rising: Int32 = 0
        var timestamp: UInt64 = 0
        let rc = vigil_gpio_event_read(handle, &rising, &timestamp)
        guard rc >= 0 else { throw GPIOError(errno: rc, chip: chip.name, offset: offset) }
        return GPIOEdgeEvent(rising: rising != 0, timestampNanoseconds: timestamp)
    }

    func release() {
        if let handle { vigil_gpio_release(handle) }
        handle = nil
    }
}

/// An output line requested through libgpiod.
final class LibgpiodOutputLine: GPIOOutputLine {
    let chip: LibgpiodChip
    private var handle: OpaquePointer?
    let offset: Int
    private(set) var lastWritten: Bool

    init(chip: LibgpiodChip, handle: OpaquePointer, offset: Int, initial: Bool) {
        self.chip = chip
        self.handle = handle
        self.offset = offset
        self.lastWritten = initial
    }

    deinit { release() }

    /// The corresponding C function is `gpiod_line_set_value` (v1) / `gpiod_line_request_set_value` (v2).
    func write(_ value: Bool) throws(GPIOError) {
        guard let handle else { throw GPIOError(.released, chip: chip.name, offset: offset) }
        let rc = vigil_gpio_set(handle, value ? 1 : 0)
        guard rc >= 0 else { throw GPIOError(errno: rc, chip: chip.name, offset: offset) }
        lastWritten = value
    }

    func release() {
        if let handle { vigil_gpio_release(handle) }
        handle = nil
    }
}
