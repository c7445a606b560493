import VigilCore

/// Where a plant's Modbus connections come from: libmodbus (`LibmodbusTransports`), or the
/// virtual-time simulator. Also gives each link the clock its poller and back-off run on.
public protocol ModbusTransportFactory {
    /// A TCP connection to `host:port`, for link number `link` (in plant order of first use).
    func tcp(host: String, port: Int, link: Int) throws(ModbusError) -> any ModbusTransport
    /// A serial line at `path` (already resolved through the board) with its settings, for link `link`.
    func serial(path: String, settings: RTUSettings, rs485: Bool, link: Int) throws(ModbusError) -> any ModbusTransport
    /// The clock of link number `link`.
    func clock(forLink link: Int) -> any MonotonicClock
}

/// Real connections through libmodbus, every link on one clock.
public struct LibmodbusTransports: ModbusTransportFactory {
    public let clock: any MonotonicClock
    public init(clock: any MonotonicClock) { self.clock = clock }
    public func tcp(host: String, port: Int, link: Int) throws(ModbusError) -> any ModbusTransport {
        try ModbusConnection(tcpHost: host, port: port)
    }
    public func serial(path: String, settings: RTUSettings, rs485: Bool, link: Int) throws(ModbusError) -> any ModbusTransport {
        try ModbusConnection(serialPath: path, settings: settings, rs485: rs485)
    }
    public func clock(forLink link: Int) -> any MonotonicClock { clock }
}

/// Every Modbus device of a plant, with one link per TCP device and one shared link per serial
/// line, polled each at its own interval.
public final class ModbusPlant {
    public let pollers: [DevicePoller]
    /// The links with the pollers on each (indices into `pollers`), in plant order of first use.
    public let links: [(link: ModbusLink, pollers: [Int])]
    private let clock: any MonotonicClock
    private var nextPollNanoseconds: [UInt64]

    /// Real connections through libmodbus. Opens no connection yet: links connect on first poll,
    /// with back-off on failure.
    /// - Parameters:
    ///   - board: resolves RTU `port:` names to device paths (a `/dev/...` path is used as is).
    ///   - seed: seeds the reconnect jitter (each link gets its own stream).
    public convenience init(config: PlantConfig, board: BoardConfig?, clock: any MonotonicClock,
                            backoff: BackoffPolicy = BackoffPolicy(), seed: UInt64 = 1) throws(ModbusError) {
        try self.init(config: config, board: board, transports: LibmodbusTransports(clock: clock), backoff: backoff, seed: seed)
    }

    /// Connections from `transports` (real or simulated).
    public init(config: PlantConfig, board: BoardConfig?, transports: some ModbusTransportFactory,
                backoff: BackoffPolicy = BackoffPolicy(), seed: UInt64 = 1) throws(ModbusError) {
        self.clock = transports.clock(forLink: 0)
        var serialLinks: [String: Int] = [:]
        var links: [(link: ModbusLink, pollers: [Int])] = []
        var pollers: [DevicePoller] = []
        for (i, device) in config.devices.enumerated() {
            let l: Int
            switch device.transport {
            case .tcp(let host, let port):
                let n = links.count
                var backupConnection: (any ModbusTransport)? = nil
                if case .tcp(let backupHost, let backupPort)? = device.backup {
                    backupConnection = try transports.tcp(host: backupHost, port: backupPort, link: n)
                }
                links.append((ModbusLink(connection: try transports.tcp(host: host, port: port, link: n), backup: backupConnection,
                                         clock: transports.clock(forLink: n), backoff: backoff, seed: seed &+ UInt64(i)), []))
                l = links.count - 1
            case .rtu(let settings):
                let spec = board?.serialPort(named: settings.port)
                let path = spec?.path ?? settings.port
                if let shared = serialLinks[path] {
                    l = shared
                } else {
                    let n = links.count
                    var backupConnection: (any ModbusTransport)? = nil
                    if case .rtu(let backupSettings)? = device.backup {
                        let backupSpec = board?.serialPort(named: backupSettings.port)
                        backupConnection = try transports.serial(path: backupSpec?.path ?? backupSettings.port, settings: backupSettings,
                                                                 rs485: backupSpec?.rs485 ?? false, link: n)
                    }
                    links.append((ModbusLink(connection: try transports.serial(path: path, settings: settings, rs485: spec?.rs485 ?? false, link: n),
                                             backup: backupConnection, clock: transports.clock(forLink: n), backoff: backoff,
                                             seed: seed &+ UInt64(i)), []))
                    l = links.count - 1
                    serialLinks[path] = l
                }
            }
            links[l].pollers.append(pollers.count)
            pollers.append(DevicePoller(device: device, link: links[l].link, clock: transports.clock(forLink: l)))
        }
        self.pollers = pollers
        self.links = links
        self.nextPollNanoseconds = Array(repeating: 0, count: pollers.count)
    }

    /// Polls every device whose interval has elapsed. Returns how many devices were polled.
    @discardableResult
    public func pollDue() -> Int {
        var polled = 0
        for i in pollers.indices {
            let now = clock.nowNanoseconds()
            guard now >= nextPollNanoseconds[i] else { continue }
            let interval = UInt64(max(1, pollers[i].device.pollIntervalMilliseconds)) * 1_000_000
            // Keep the schedule's phase; after a long stall, restart it rather than bursting.
            nextPollNanoseconds[i] = nextPollNanoseconds[i] &+ interval > now ? nextPollNanoseconds[i] &+ interval : now &+ interval
            pollers[i].poll()
            polled += 1
        }
        return polled
    }

    /// Polls every device now, regardless of interval.
    public func pollAll() {
        for poller in pollers { poller.poll() }
    }

    /// The earliest time a device is due (monotonic ns).
    public var nextDueNanoseconds: UInt64 { nextPollNanoseconds.min() ?? 0 }

    public func poller(deviceID: String) -> DevicePoller? { pollers.first { $0.device.id == deviceID } }
}
