import VigilCore

/// Every Modbus device of a plant, with one link per TCP device and one shared link per serial
/// line, polled each at its own interval.
public final class ModbusPlant {
    public let pollers: [DevicePoller]
    private let clock: any MonotonicClock
    private var nextPollNanoseconds: [UInt64]

    /// Opens no connection yet: links connect on first poll, with back-off on failure.
    /// - Parameters:
    ///   - board: resolves RTU `port:` names to device paths (a `/dev/...` path is used as is).
    ///   - seed: seeds the reconnect jitter (each link gets its own stream).
    public init(config: PlantConfig, board: BoardConfig?, clock: any MonotonicClock,
                backoff: BackoffPolicy = BackoffPolicy(), seed: UInt64 = 1) throws(ModbusError) {
        self.clock = clock
        var serialLinks: [String: ModbusLink] = [:]
        var pollers: [DevicePoller] = []
        for (i, device) in config.devices.enumerated() {
            let link: ModbusLink
            switch device.transport {
            case .tcp(let host, let port):
                var backupConnection: ModbusConnection? = nil
                if case .tcp(let backupHost, let backupPort)? = device.backup {
                    backupConnection = try ModbusConnection(tcpHost: backupHost, port: backupPort)
                }
                link = ModbusLink(connection: try ModbusConnection(tcpHost: host, port: port), backup: backupConnection, clock: clock,
                                  backoff: backoff, seed: seed &+ UInt64(i))
            case .rtu(let settings):
                let spec = board?.serialPort(named: settings.port)
                let path = spec?.path ?? settings.port
                if let shared = serialLinks[path] {
                    link = shared
                } else {
                    var backupConnection: ModbusConnection? = nil
                    if case .rtu(let backupSettings)? = device.backup {
                        let backupSpec = board?.serialPort(named: backupSettings.port)
                        backupConnection = try ModbusConnection(serialPath: backupSpec?.path ?? backupSettings.port, settings: backupSettings,
                                                                rs485: backupSpec?.rs485 ?? false)
                    }
                    link = ModbusLink(connection: try ModbusConnection(serialPath: path, settings: settings, rs485: spec?.rs485 ?? false),
                                      backup: backupConnection, clock: clock, backoff: backoff, seed: seed &+ UInt64(i))
                    serialLinks[path] = link
                }
            }
            pollers.append(DevicePoller(device: device, link: link, clock: clock))
        }
        self.pollers = pollers
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
