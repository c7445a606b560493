import Foundation
import VigilCore

/// Every device of a plant served by simulators: TCP devices on loopback ports, RTU devices on
/// virtual serial lines (one line per `port:` name, several unit ids per line).
///
/// `plant` is the configuration rewritten to point at where the simulators actually listen
/// (TCP port, client side pty path of each line), so a client can poll it as it is.
public final class SimulatedRig: @unchecked Sendable {
    /// Where TCP devices listen.
    public enum PortPlan: Sendable, Hashable {
        /// The configured host and port.
        case configured
        /// The configured port plus an offset (host forced to 127.0.0.1).
        case offset(Int)
        /// Ephemeral ports on 127.0.0.1 (tests).
        case ephemeral
    }

    /// The plant as configured.
    public let original: PlantConfig
    /// The plant with every device pointing at its simulator.
    public let plant: PlantConfig
    public let model: PlantModel
    /// `CLOCK_MONOTONIC` time of the model's t = 0 (simulation time is `now − epochNanoseconds`).
    public let epochNanoseconds: UInt64
    /// Simulated devices by device id.
    public let devices: [String: SimulatedModbusDevice]
    /// Virtual serial lines by configured port name.
    public let lines: [String: VirtualSerialLine]
    /// The backup path of devices that have one (`backup:` or `backup_port:`), by device id: a
    /// second server over the same plant model, so both paths answer the same values (registers
    /// written by a client are per server) but can be faulted apart.
    public let backupDevices: [String: SimulatedModbusDevice]
    /// Virtual serial lines of backup ports, by configured backup port name.
    public let backupLines: [String: VirtualSerialLine]
    private let buses: [String: SimulatedRTUBus]
    private let lock = NSLock()
    private var stopped = false
    private let clock: any MonotonicClock
    /// GPIO inputs by sensor id, once mock chips are attached (`attachGPIO`).
    private var gpioInputs: [String: (chip: MockGPIOChip, offset: Int, activeLow: Bool)] = [:]

    /// Starts a simulator for every device of `plant`.
    /// - Parameters:
    ///   - ports: where TCP devices listen.
    ///   - pacing: pacing of the virtual serial lines; `nil` paces each line at its first device's baud.
    ///   - seed: seeds the plant model's noise and the lines' fault generators.
    ///   - clock: simulation time; its current reading is t = 0.
    ///   - tcpLimits: clients each TCP simulator serves at once (the rest are refused).
    ///   - notice: receives one line per burst of refused TCP clients.
    public init(plant: PlantConfig, ports: PortPlan = .ephemeral, pacing: VirtualSerialLine.Pacing? = .unpaced,
                seed: UInt64 = 1, clock: any MonotonicClock = SystemMonotonicClock(), model: PlantModel? = nil,
                tcpLimits: TCPServerLimits = TCPServerLimits(), notice: (@Sendable (String) -> Void)? = nil) throws {
        original = plant
        self.clock = clock
        let model = model ?? PlantModel(plant: plant, seed: seed)
        if model.isClosedLoop {
            throw HILError.unsupported("\(plant.name) has closed-loop process signals (simulation.process): they run in virtual time only (vigil hil run without --realtime)")
        }
        self.model = model
        let epoch = clock.nowNanoseconds()
        epochNanoseconds = epoch
        var devices: [String: SimulatedModbusDevice] = [:]
        var lines: [String: VirtualSerialLine] = [:]
        var buses: [String: SimulatedRTUBus] = [:]
        var backupDevices: [String: SimulatedModbusDevice] = [:]
        var backupLines: [String: VirtualSerialLine] = [:]
        var rewritten = plant
        func stopAll() {
            buses.values.forEach { $0.stop() }
            devices.values.forEach { $0.stop() }
            backupDevices.values.forEach { $0.stop() }
            lines.values.forEach { $0.close() }
            backupLines.values.forEach { $0.close() }
        }
        do {
            // RTU devices grouped by port name, in config order.
            var rtuGroups: [(port: String, devices: [SimulatedModbusDevice])] = []
            for (i, d) in plant.devices.enumerated() {
                let sim = try SimulatedModbusDevice(config: d, model: model, clock: clock, epochNanoseconds: epoch)
                devices[d.id] = sim
                switch d.transport {
                case .tcp(let host, let port):
                    let bound: Int
                    switch ports {
                    case .configured: bound = try sim.serveTCP(host: host, port: port, limits: tcpLimits, notice: notice)
                    case .offset(let o): bound = try sim.serveTCP(host: "127.0.0.1", port: port + o, limits: tcpLimits, notice: notice)
                    case .ephemeral: bound = try sim.serveTCP(host: "127.0.0.1", port: 0, limits: tcpLimits, notice: notice)
                    }
                    rewritten.devices[i].transport = .tcp(host: ports == .configured ? host : "127.0.0.1", port: bound)
                    if case .tcp(let backupHost, let backupPort)? = d.backup {
                        let backup = try SimulatedModbusDevice(config: d, model: model, clock: clock, epochNanoseconds: epoch)
                        backupDevices[d.id] = backup
                        let boundBackup: Int
                        switch ports {
                        case .configured: boundBackup = try backup.serveTCP(host: backupHost, port: backupPort, limits: tcpLimits, notice: notice)
                        case .offset(let o): boundBackup = try backup.serveTCP(host: "127.0.0.1", port: backupPort + o, limits: tcpLimits, notice: notice)
                        case .ephemeral: boundBackup = try backup.serveTCP(host: "127.0.0.1", port: 0, limits: tcpLimits, notice: notice)
                        }
                        rewritten.devices[i].backup = .tcp(host: ports == .configured ? backupHost : "127.0.0.1", port: boundBackup)
                    }
                case .rtu(let settings):
                    if let g = rtuGroups.firstIndex(where: { $0.port == settings.port }) {
                        rtuGroups[g].devices.append(sim)
                    } else {
                        rtuGroups.append((settings.port, [sim]))
                    }
                }
            }
            for group in rtuGroups {
                guard case .rtu(let settings) = group.devices[0].config.transport else { continue }
                let linePacing = pacing ?? .paced(baud: settings.baud, bitsPerCharacter: settings.bitsPerCharacter)
                let line = try VirtualSerialLine(pacing: linePacing, seed: seed &+ UInt64(lines.count) &+ 1)
                lines[group.port] = line
                buses[group.port] = try SimulatedRTUBus(path: line.devicePath, devices: group.devices)
                for (i, d) in plant.devices.enumerated() {
                    if case .rtu(var s) = d.transport, s.port == group.port {
                        s.port = line.clientPath
                        rewritten.devices[i].transport = .rtu(s)
                    }
                }
                // A backup serial line: a second pty pair and bus over the same model.
                guard case .rtu(let backupSettings)? = group.devices[0].config.backup else { continue }
                let backupLine = try VirtualSerialLine(pacing: linePacing, seed: seed &+ UInt64(lines.count + backupLines.count) &+ 101)
                backupLines[backupSettings.port] = backupLine
                var backups: [SimulatedModbusDevice] = []
                for sim in group.devices {
                    let backup = try SimulatedModbusDevice(config: sim.config, model: model, clock: clock, epochNanoseconds: epoch)
                    backupDevices[sim.config.id] = backup
                    backups.append(backup)
                }
                buses[backupSettings.port + "#backup"] = try SimulatedRTUBus(path: backupLine.devicePath, devices: backups)
                for (i, d) in plant.devices.enumerated() {
                    if case .rtu(let s) = d.transport, s.port == group.port, case .rtu(var b)? = d.backup {
                        b.port = backupLine.clientPath
                        rewritten.devices[i].backup = .rtu(b)
                    }
                }
            }
        } catch {
            stopAll()
            throw error
        }
        self.devices = devices
        self.lines = lines
        self.buses = buses
        self.backupDevices = backupDevices
        self.backupLines = backupLines
        self.plant = rewritten
    }

    deinit { stop() }

    /// The simulator of a device (its fault injection API), by device id.
    public func device(_ id: String) -> SimulatedModbusDevice? { devices[id] }

    /// The virtual serial line (its fault injection API) of a configured port name, e.g. `rs485-0`.
    public func line(_ port: String) -> VirtualSerialLine? { lines[port] ?? backupLines[port] }

    /// The simulator behind a device's backup path, if it has one.
    public func backupDevice(_ id: String) -> SimulatedModbusDevice? { backupDevices[id] }

    /// Stops every simulator and line, waiting for their threads. Safe to call more than once.
    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        buses.values.forEach { $0.stop() }
        devices.values.forEach { $0.stop() }
        backupDevices.values.forEach { $0.stop() }
        lines.values.forEach { $0.close() }
        backupLines.values.forEach { $0.close() }
    }
}

extension SimulatedRig: FaultableRig {
    public var nowNanoseconds: UInt64 { clock.nowNanoseconds() }
    public func faultableDevice(_ id: String) -> (any FaultableDevice)? { device(id) }
    public func faultableBackupDevice(_ id: String) -> (any FaultableDevice)? { backupDevice(id) }
    public func faultableLine(_ port: String) -> (any FaultableLine)? { line(port) }
    public func gpioInput(sensor id: String) -> (chip: MockGPIOChip, offset: Int, activeLow: Bool)? {
        lock.withLock { gpioInputs[id] }
    }

    /// Makes the GPIO inputs of `chips` (built for `board`) reachable for fault injection.
    public func attachGPIO(chips: [MockGPIOChip], board: BoardConfig) {
        let found = SimulatedGPIO.inputs(of: original, chips: chips, board: board)
        lock.withLock { gpioInputs = found }
    }
}

extension SimulatedRig {
    /// The text of the plant's YAML file with every device pointed at its simulator (TCP ports,
    /// RTU pty paths) and relative `board:` paths made absolute against `configDirectory`, so a
    /// separate `vigil run` process can poll this rig. Relies on each configured `port:` value
    /// appearing once per device in the text, as in `configs/demo-pump-station.yaml`.
    public func configText(rewriting text: String, configDirectory: String) -> String {
        var text = text
        for (before, after) in zip(original.devices, plant.devices) {
            switch (before.transport, after.transport) {
            case (.tcp(_, let old), .tcp(_, let new)): text = text.replacingOccurrences(of: "port: \(old)\n", with: "port: \(new)\n")
            case (.rtu(let old), .rtu(let new)): text = text.replacingOccurrences(of: "port: \(old.port)\n", with: "port: \(new.port)\n")
            default: break
            }
            switch (before.backup, after.backup) {
            case (.tcp(_, let old)?, .tcp(_, let new)?):
                // `backup: { host: ..., port: N }` or a block with `port: N` on its own line.
                text = text.replacingOccurrences(of: "port: \(old)}", with: "port: \(new)}")
                text = text.replacingOccurrences(of: "port: \(old) }", with: "port: \(new) }")
                text = text.replacingOccurrences(of: "port: \(old)\n", with: "port: \(new)\n")
            case (.rtu(let old)?, .rtu(let new)?):
                text = text.replacingOccurrences(of: "backup_port: \(old.port)\n", with: "backup_port: \(new.port)\n")
            default: break
            }
        }
        return text.replacingOccurrences(of: "board: ../", with: "board: \(configDirectory)/../")
    }
}
