import Fieldbus
import VigilCore

/// Every device of a plant simulated in virtual time: TCP devices reached through
/// `VirtualTCPTransport`s, RTU devices on `VirtualLine`s (one per `port:` name, several unit ids per
/// line), backup gateways and backup lines over the same `PlantModel`, and mock GPIO chips. Nothing
/// listens on a socket and no thread runs: the rig is a `ModbusTransportFactory` that hands the
/// plant's pollers transports whose round trips, frame times and timeouts advance each link's own
/// manual clock, so a whole plant-day replays as fast as the CPU allows, the same every time.
public final class VirtualRig: @unchecked Sendable {
    /// How serial lines carry frames.
    public enum Pacing: Sendable, Hashable {
        /// Frame times at each line's baud (the default, as on a real RS-485 line).
        case paced
        /// A fixed short time per transaction, like a pty relay that does not pace bytes.
        case unpaced
    }

    public let original: PlantConfig
    public let model: PlantModel
    public let epochNanoseconds: UInt64
    /// Plant time (the kernel's): faults are injected and timed on it.
    public let clock: ManualClock
    public let timing: WireTiming
    public let devices: [String: VirtualModbusDevice]
    public let backupDevices: [String: VirtualModbusDevice]
    /// Lines by configured port name (primary and backup ports).
    public let lines: [String: VirtualLine]
    /// Mock GPIO chips shaped like the board's (empty without a board).
    public let gpioChips: [MockGPIOChip]
    private let gpioInputs: [String: (chip: MockGPIOChip, offset: Int, activeLow: Bool)]
    private let tcpEndpoints: [String: VirtualModbusDevice]
    /// Lines by the path a poller opens (the board's device path for the port, or the port name).
    private let serialPaths: [String: VirtualLine]
    /// One clock per link: each advances by what its own transactions take.
    public private(set) var linkClocks: [ManualClock] = []

    /// - Parameters:
    ///   - epochNanoseconds: plant time of simulation time 0; every clock starts there.
    ///   - seed: seeds the model's noise and the lines' fault generators.
    public init(plant: PlantConfig, board: BoardConfig? = nil, seed: UInt64 = 1, pacing: Pacing = .paced,
                timing: WireTiming = WireTiming(), epochNanoseconds: UInt64 = 1_000_000_000, model: PlantModel? = nil) throws {
        original = plant
        let model = model ?? PlantModel(plant: plant, seed: seed)
        self.model = model
        self.epochNanoseconds = epochNanoseconds
        self.timing = timing
        let clock = ManualClock(startNanoseconds: epochNanoseconds)
        self.clock = clock
        var devices: [String: VirtualModbusDevice] = [:], backups: [String: VirtualModbusDevice] = [:]
        var lines: [String: VirtualLine] = [:], endpoints: [String: VirtualModbusDevice] = [:], paths: [String: VirtualLine] = [:]
        func line(_ settings: RTUSettings) -> VirtualLine {
            if let l = lines[settings.port] { return l }
            let l = VirtualLine(name: settings.port, settings: settings, paced: pacing == .paced,
                                seed: seed &+ UInt64(lines.count) &+ 1, clock: clock)
            lines[settings.port] = l
            paths[board?.serialPort(named: settings.port)?.path ?? settings.port] = l
            paths[settings.port] = l
            return l
        }
        for d in plant.devices {
            let device = try VirtualModbusDevice(config: d, model: model, epochNanoseconds: epochNanoseconds, clock: clock)
            devices[d.id] = device
            switch d.transport {
            case .tcp(let host, let port): endpoints["\(host):\(port)"] = device
            case .rtu(let s): line(s).attach(device, unit: d.unitID)
            }
            guard let path = d.backup else { continue }
            let backup = try VirtualModbusDevice(config: d, model: model, epochNanoseconds: epochNanoseconds, clock: clock)
            backups[d.id] = backup
            switch path {
            case .tcp(let host, let port): endpoints["\(host):\(port)"] = backup
            case .rtu(let s): line(s).attach(backup, unit: d.unitID)
            }
        }
        self.devices = devices
        backupDevices = backups
        self.lines = lines
        tcpEndpoints = endpoints
        serialPaths = paths
        if let board {
            let chips = SimulatedGPIO.chips(for: board, plant: plant, clock: clock)
            gpioChips = chips
            gpioInputs = SimulatedGPIO.inputs(of: plant, chips: chips, board: board)
        } else {
            gpioChips = []
            gpioInputs = [:]
        }
        if model.isClosedLoop {
            // Closed-loop process signals read the outputs as the devices and GPIO lines hold them.
            var readers: [String: () -> Double?] = [:]
            for output in plant.outputs {
                switch output.target {
                case .point(let deviceID, let pointID):
                    if let device = devices[deviceID] { readers[output.id] = { device.currentValue(ofPoint: pointID) } }
                case .gpio(let line, _):
                    if let board, let (chipSpec, spec) = board.line(named: line), let chip = gpioChips.first(where: { $0.name == chipSpec.name }) {
                        readers[output.id] = { chip.outputValue(spec.offset).map { $0 ? 1 : 0 } }
                    }
                }
            }
            let table = readers
            model.readOutputs { id in table[id]?() ?? nil }
        }
    }

    public func device(_ id: String) -> VirtualModbusDevice? { devices[id] }
    public func backupDevice(_ id: String) -> VirtualModbusDevice? { backupDevices[id] }
    public func line(_ port: String) -> VirtualLine? { lines[port] }

    /// The clock of link `link`, made on first use.
    public func linkClock(_ link: Int) -> ManualClock {
        while linkClocks.count <= link { linkClocks.append(ManualClock(startNanoseconds: epochNanoseconds)) }
        return linkClocks[link]
    }
}

extension VirtualRig: ModbusTransportFactory {
    public func tcp(host: String, port: Int, link: Int) throws(ModbusError) -> any ModbusTransport {
        guard let device = tcpEndpoints["\(host):\(port)"] else {
            throw .invalidRequest(errno: 22) // the plant names an endpoint the rig does not simulate
        }
        return VirtualTCPTransport(device: device, endpoint: "tcp \(host):\(port) (virtual)", clock: linkClock(link), timing: timing)
    }

    public func serial(path: String, settings: RTUSettings, rs485: Bool, link: Int) throws(ModbusError) -> any ModbusTransport {
        guard let line = serialPaths[path] ?? serialPaths[settings.port] else { throw .invalidRequest(errno: 22) }
        return VirtualRTUTransport(line: line, clock: linkClock(link), timing: timing)
    }

    public func clock(forLink link: Int) -> any MonotonicClock { linkClock(link) }
}

extension VirtualRig: FaultableRig {
    public var nowNanoseconds: UInt64 { clock.nowNanoseconds() }
    public func faultableDevice(_ id: String) -> (any FaultableDevice)? { devices[id] }
    public func faultableBackupDevice(_ id: String) -> (any FaultableDevice)? { backupDevices[id] }
    public func faultableLine(_ port: String) -> (any FaultableLine)? { lines[port] }
    public func gpioInput(sensor id: String) -> (chip: MockGPIOChip, offset: Int, activeLow: Bool)? { gpioInputs[id] }
}
