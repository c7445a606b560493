/// A plant: the devices Vigil polls, the points on them, the sensors and outputs built on those
/// points, redundancy groups and limits. Decoded from `configs/*.yaml`.
public struct PlantConfig: Sendable, Hashable {
    public var name: String
    /// Path of the board file, relative to the config file (may be overridden on the command line).
    public var board: String?
    public var devices: [DeviceConfig]
    public var sensors: [SensorConfig]
    public var redundancyGroups: [RedundancyGroupConfig]
    public var outputs: [OutputConfig]
    public var limits: [LimitConfig]
    /// Process signals of the simulated plant, referenced by points' `sim` blocks.
    public var simulationSignals: [NamedSignal]
    /// Closed-loop signals of the simulated plant (`simulation.process`), in evaluation order.
    public var processSignals: [ProcessSignal] = []
    /// How the scan cycle runs.
    public var cycle: CycleConfig
    /// Control laws, evaluated every cycle in this order.
    public var controls: [ControlConfig]
    /// Self-healing monitor knobs and intervention policy (`monitor:`); defaults when absent.
    public var monitor = MonitorSettings()
    /// Plant sections watched by the multivariate monitor.
    public var sections: [SectionConfig]
    /// The serial operator console (`console:`); nil when the plant has none.
    public var console: ConsoleConfig? = nil
    /// The MQTT Sparkplug B edge node (`mqtt:`); nil when the plant publishes nothing.
    public var mqtt: MQTTConfig? = nil
    /// The Prometheus exporter (`metrics:`); off when absent.
    public var metrics = MetricsConfig()

    public init(name: String, board: String? = nil, devices: [DeviceConfig] = [], sensors: [SensorConfig] = [],
                redundancyGroups: [RedundancyGroupConfig] = [], outputs: [OutputConfig] = [], limits: [LimitConfig] = [],
                simulationSignals: [NamedSignal] = [], cycle: CycleConfig = CycleConfig(), controls: [ControlConfig] = [],
                sections: [SectionConfig] = []) {
        self.name = name
        self.board = board
        self.devices = devices
        self.sensors = sensors
        self.redundancyGroups = redundancyGroups
        self.outputs = outputs
        self.limits = limits
        self.simulationSignals = simulationSignals
        self.cycle = cycle
        self.controls = controls
        self.sections = sections
    }

    public func device(id: String) -> DeviceConfig? { devices.first { $0.id == id } }
}

/// Serial parity.
public enum Parity: String, Sendable, Hashable, CaseIterable {
    case none, even, odd
    /// The character libmodbus expects (`N`, `E`, `O`).
    public var libmodbusCharacter: Character {
        switch self {
        case .none: return "N"
        case .even: return "E"
        case .odd: return "O"
        }
    }
}

/// Serial line settings of a Modbus RTU device.
public struct RTUSettings: Sendable, Hashable {
    /// A serial port name from the board file, or a device path.
    public var port: String
    public var baud: Int
    public var parity: Parity
    public var dataBits: Int
    public var stopBits: Int

    public init(port: String, baud: Int = 9600, parity: Parity = .even, dataBits: Int = 8, stopBits: Int = 1) {
        self.port = port
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
    }

    /// Bits on the wire per character: start + data + parity + stop.
    public var bitsPerCharacter: Int { 1 + dataBits + (parity == .none ? 0 : 1) + stopBits }
}

/// How Vigil reaches a device.
public enum DeviceTransport: Sendable, Hashable {
    case tcp(host: String, port: Int)
    case rtu(RTUSettings)
}

/// A Modbus device (a slave/server) and its register map.
public struct DeviceConfig: Sendable, Hashable {
    public var id: String
    public var transport: DeviceTransport
    public var unitID: Int
    public var responseTimeoutMilliseconds: Int
    public var byteTimeoutMilliseconds: Int
    public var pollIntervalMilliseconds: Int
    /// Largest run of unused registers the planner will read through to merge two reads.
    public var maxGapRegisters: Int
    /// Largest run of unused bits (coils, discrete inputs) read through to merge two reads.
    public var maxGapBits: Int
    /// Largest number of registers in one read (≤ 125); some devices accept less.
    public var maxRegistersPerRead: Int
    /// Largest number of bits in one read (≤ 2000).
    public var maxBitsPerRead: Int
    public var points: [PointConfig]
    /// A second path to the same device (a backup gateway, or a backup serial line with the
    /// primary's line settings), used when the monitor asks to switch; nil when there is none.
    public var backup: DeviceTransport?
    /// The ceiling slow polling may raise the poll interval to; nil means 4 × the poll interval.
    public var maxPollIntervalMilliseconds: Int?

    public init(id: String, transport: DeviceTransport, unitID: Int = 1,
                responseTimeoutMilliseconds: Int = 200, byteTimeoutMilliseconds: Int = 50,
                pollIntervalMilliseconds: Int = 100, maxGapRegisters: Int = 16, maxGapBits: Int = 64,
                maxRegistersPerRead: Int = 125, maxBitsPerRead: Int = 2000, points: [PointConfig] = [],
                backup: DeviceTransport? = nil, maxPollIntervalMilliseconds: Int? = nil) {
        self.backup = backup
        self.maxPollIntervalMilliseconds = maxPollIntervalMilliseconds
        self.id = id
        self.transport = transport
        self.unitID = unitID
        self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
        self.byteTimeoutMilliseconds = byteTimeoutMilliseconds
        self.pollIntervalMilliseconds = pollIntervalMilliseconds
        self.maxGapRegisters = maxGapRegisters
        self.maxGapBits = maxGapBits
        self.maxRegistersPerRead = maxRegistersPerRead
        self.maxBitsPerRead = maxBitsPerRead
        self.points = points
    }

    /// The ceiling of slow polling: `maxPollIntervalMilliseconds`, or 4 × the poll interval.
    public var pollIntervalCeilingMilliseconds: Int { max(pollIntervalMilliseconds, maxPollIntervalMilliseconds ?? 4 * pollIntervalMilliseconds) }
}

/// A value on a device: where it lives, how it is encoded, and how to turn it into engineering units.
public struct PointConfig: Sendable, Hashable {
    public var id: String
    public var function: RegisterFunction
    /// Zero-based protocol address (datasheets often print 1-based "40001" numbers: subtract).
    public var address: Int
    public var type: PointDataType
    public var order: WordOrder
    /// engineering = raw × scale + offset
    public var scale: Double
    public var offset: Double
    public var unit: String?
    /// How the simulated device drives this point (ignored by the real client).
    public var simulation: PointSimulation?

    public init(id: String, function: RegisterFunction, address: Int, type: PointDataType, order: WordOrder = .abcd,
                scale: Double = 1, offset: Double = 0, unit: String? = nil, simulation: PointSimulation? = nil) {
        self.id = id
        self.function = function
        self.address = address
        self.type = type
        self.order = order
        self.scale = scale
        self.offset = offset
        self.unit = unit
        self.simulation = simulation
    }

    /// Registers or bits the point occupies in its table.
    public var width: Int { function.isBit ? 1 : type.registerCount }
    /// One past the last address used.
    public var endAddress: Int { address + width }
}

/// How a simulated device drives one point: from a named plant signal (so redundant sensors
/// see the same process) or an inline waveform, plus the point's own noise and bias.
public struct PointSimulation: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        /// A signal named in `PlantConfig.simulationSignals`.
        case signal(String)
        case inline(SignalSpec)
    }
    public var source: Source
    /// Standard deviation of this point's own Gaussian noise (engineering units).
    public var noise: Double
    /// Constant error added to this point (engineering units).
    public var bias: Double

    public init(source: Source, noise: Double = 0, bias: Double = 0) {
        self.source = source
        self.noise = noise
        self.bias = bias
    }
}

/// A named process signal of the simulated plant.
public struct NamedSignal: Sendable, Hashable {
    public var name: String
    public var spec: SignalSpec
    public init(name: String, spec: SignalSpec) {
        self.name = name
        self.spec = spec
    }
}

/// A signal of the simulated plant that the controller's outputs move (a closed loop): its value
/// follows a first-order lag or an integrator of weighted inputs, each a plant output (the value
/// its device or GPIO line holds) or another signal. Run in virtual time only.
public struct ProcessSignal: Sendable, Hashable {
    public enum Input: Sendable, Hashable {
        /// A plant output, as its device (or GPIO line) holds it.
        case output(String)
        /// Another signal: a waveform of `simulation.signals` or an earlier process signal.
        case signal(String)
    }
    /// One weighted input.
    public struct Term: Sendable, Hashable {
        public var input: Input
        public var gain: Double
        public init(input: Input, gain: Double) {
            self.input = input
            self.gain = gain
        }
    }
    public enum Law: Sendable, Hashable {
        /// τ·dy/dt = Σ gain·input + offset − y: settles at the weighted sum with time constant τ.
        case firstOrder(timeConstantSeconds: Double)
        /// dy/dt = Σ gain·input + offset, held within [min, max] (a tank level, a temperature).
        case integrator(min: Double, max: Double)
    }
    public var name: String
    public var law: Law
    public var terms: [Term]
    public var offset: Double
    /// The value at simulation time 0.
    public var initial: Double

    public init(name: String, law: Law, terms: [Term], offset: Double = 0, initial: Double = 0) {
        self.name = name
        self.law = law
        self.terms = terms
        self.offset = offset
        self.initial = initial
    }
}

/// A waveform of the simulated plant, in engineering units.
public struct SignalSpec: Sendable, Hashable {
    public enum Shape: String, Sendable, Hashable, CaseIterable {
        case constant, sine, ramp, square, randomWalk = "random_walk"
    }
    public var shape: Shape
    /// Mean value (engineering units).
    public var base: Double
    public var amplitude: Double
    public var periodSeconds: Double
    /// Standard deviation of added Gaussian noise.
    public var noise: Double

    public init(shape: Shape = .constant, base: Double = 0, amplitude: Double = 0, periodSeconds: Double = 60, noise: Double = 0) {
        self.shape = shape
        self.base = base
        self.amplitude = amplitude
        self.periodSeconds = periodSeconds
        self.noise = noise
    }
}

/// Bias of a GPIO input line.
public enum GPIOBias: String, Sendable, Hashable, CaseIterable {
    case asIs = "as_is", disabled, pullUp = "pull_up", pullDown = "pull_down"
}

/// How a GPIO input is read.
public struct GPIOInputSettings: Sendable, Hashable {
    /// Line name from the board file.
    public var line: String
    public var activeLow: Bool
    public var bias: GPIOBias
    /// A change must persist this long before it is reported (software debounce).
    public var debounceMilliseconds: Int

    public init(line: String, activeLow: Bool = false, bias: GPIOBias = .asIs, debounceMilliseconds: Int = 0) {
        self.line = line
        self.activeLow = activeLow
        self.bias = bias
        self.debounceMilliseconds = debounceMilliseconds
    }
}

/// Where a sensor's value comes from.
public enum SensorSource: Sendable, Hashable {
    case point(device: String, point: String)
    case gpio(GPIOInputSettings)
}

/// A measured quantity: a point or a GPIO line, with its physically possible range.
public struct SensorConfig: Sendable, Hashable {
    public var id: String
    public var source: SensorSource
    /// Physically possible values; outside this the sensor is lying.
    public var rangeMin: Double
    public var rangeMax: Double
    public var unit: String?
    /// What is measured (`pressure`, `temperature`): redundancy groups require one quantity.
    public var quantity: String?

    public init(id: String, source: SensorSource, rangeMin: Double, rangeMax: Double, unit: String? = nil, quantity: String? = nil) {
        self.id = id
        self.source = source
        self.rangeMin = rangeMin
        self.rangeMax = rangeMax
        self.unit = unit
        self.quantity = quantity
    }
}

/// Sensors that measure the same quantity: a primary and its backups, in preference order.
public struct RedundancyGroupConfig: Sendable, Hashable {
    public var id: String
    public var quantity: String?
    public var primary: String
    public var backups: [String]

    public init(id: String, quantity: String? = nil, primary: String, backups: [String]) {
        self.id = id
        self.quantity = quantity
        self.primary = primary
        self.backups = backups
    }

    public var members: [String] { [primary] + backups }
}

/// Where an output is written.
public enum OutputTarget: Sendable, Hashable {
    /// A coil or holding register on a device.
    case point(device: String, point: String)
    /// A GPIO line from the board file.
    case gpio(line: String, activeLow: Bool)
}

/// A value Vigil drives, with the value it starts at and the value it falls back to when unsafe.
public struct OutputConfig: Sendable, Hashable {
    public var id: String
    public var target: OutputTarget
    public var initial: Double
    public var safe: Double

    public init(id: String, target: OutputTarget, initial: Double, safe: Double) {
        self.id = id
        self.target = target
        self.initial = initial
        self.safe = safe
    }
}

/// How serious crossing a limit is.
public enum LimitSeverity: String, Sendable, Hashable, CaseIterable {
    /// Logged and shown.
    case warning
    /// An alarm for the operator.
    case alarm
    /// A safety interlock: the listed outputs go to their safe values.
    case interlock
}

/// A limit on a sensor or a redundancy group's value.
public struct LimitConfig: Sendable, Hashable {
    public var id: String
    /// A sensor id or a redundancy group id.
    public var subject: String
    public var low: Double?
    public var high: Double?
    public var severity: LimitSeverity
    /// Outputs driven to their safe values when the limit is crossed (interlocks).
    public var safeOutputs: [String]
    /// Interlocks: how long the subject may have no usable value (bad, or a held last good value)
    /// before the interlock trips fail-safe; until then it keeps its last condition. 0: at once.
    public var badInputDelaySeconds: Double

    public init(id: String, subject: String, low: Double? = nil, high: Double? = nil,
                severity: LimitSeverity = .alarm, safeOutputs: [String] = [], badInputDelaySeconds: Double = 0) {
        self.id = id
        self.subject = subject
        self.low = low
        self.high = high
        self.severity = severity
        self.safeOutputs = safeOutputs
        self.badInputDelaySeconds = badInputDelaySeconds
    }
}
