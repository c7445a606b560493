import HIL
import Monitor
import VigilCore

/// One HIL scenario: a plant, a rig, a fault timeline in cycles and the outcomes expected.
/// Decoded from `hil/scenarios/*.yaml` by `ScenarioDecoder`; the format is in `hil/README.md`.
public struct Scenario: Sendable, Hashable {
    public var name: String
    /// The scenario file as given (reports and messages name it).
    public var file: String
    /// The plant file, resolved against the scenario's folder.
    public var configPath: String
    public var rig: RigOptions
    public var seed: UInt64
    /// How many controller cycles the run lasts.
    public var cycles: UInt64
    /// Replaces the plant's `cycle.period_ms`.
    public var periodMilliseconds: Double?
    /// Replaces every device's `poll_interval_ms` (set it to the period to get a new sample every cycle).
    public var pollIntervalMilliseconds: Int?
    /// Capabilities the controller must have, e.g. `monitor`; otherwise the scenario is skipped.
    public var requires: Set<Requirement>
    public var faults: [ScheduledFault]
    public var expectations: [Expectation]

    public init(name: String, file: String, configPath: String, rig: RigOptions = RigOptions(), seed: UInt64 = 1,
                cycles: UInt64, periodMilliseconds: Double? = nil, pollIntervalMilliseconds: Int? = nil,
                requires: Set<Requirement> = [], faults: [ScheduledFault] = [], expectations: [Expectation] = []) {
        self.name = name
        self.file = file
        self.configPath = configPath
        self.rig = rig
        self.seed = seed
        self.cycles = cycles
        self.periodMilliseconds = periodMilliseconds
        self.pollIntervalMilliseconds = pollIntervalMilliseconds
        self.requires = requires
        self.faults = faults
        self.expectations = expectations
    }

    /// The cycle windows are measured from when not given: the first fault's onset (0 without faults).
    public var firstFaultCycle: UInt64 { faults.map(\.at).min() ?? 0 }

    /// Every fault's application and removal in the order the runners carry them out.
    var faultActions: [FaultAction] { FaultAction.timeline(faults) }
}

/// Applying and removing `faults[index]` at `cycle`.
struct FaultAction {
    var cycle: UInt64
    var apply: Bool
    var index: Int

    /// Every fault's application and removal (at its `endCycle`), by cycle, removals before
    /// applications within a cycle, then in list order.
    static func timeline(_ faults: [ScheduledFault]) -> [FaultAction] {
        var actions: [FaultAction] = []
        for (i, f) in faults.enumerated() {
            actions.append(FaultAction(cycle: f.at, apply: true, index: i))
            if let end = f.endCycle { actions.append(FaultAction(cycle: end, apply: false, index: i)) }
        }
        return actions.sorted { ($0.cycle, $0.apply ? 1 : 0, $0.index) < ($1.cycle, $1.apply ? 1 : 0, $1.index) }
    }
}

/// A capability a scenario needs from the controller.
public enum Requirement: String, Sendable, Hashable, CaseIterable {
    /// The self-healing monitor (detections, failover, repair, escalation events).
    case monitor
}

/// How the simulated rig is set up.
public struct RigOptions: Sendable, Hashable {
    public enum Pacing: String, Sendable, Hashable, CaseIterable {
        /// Serial lines relay bytes as fast as they come.
        case unpaced
        /// Serial lines are paced at each line's configured baud.
        case paced
    }
    public enum Ports: Sendable, Hashable {
        case ephemeral, configured, offset(Int)
    }
    public var pacing: Pacing
    public var ports: Ports

    public init(pacing: Pacing = .unpaced, ports: Ports = .ephemeral) {
        self.pacing = pacing
        self.ports = ports
    }
}

/// One outcome a scenario expects. Cycle windows start at `after` (default: the first fault's onset).
public enum Expectation: Sendable, Hashable {
    /// The group fails over (to `to`, when given) within the window; with `afterDetection` the
    /// window starts at the first detection on a member of the group (after the first fault).
    case failover(group: String, to: String?, withinCycles: UInt64?, after: UInt64?, afterDetection: Bool = false)
    /// No failover of the group (nil: of any group) during the run.
    case noFailover(group: String?)
    /// A detection of `kind` (nil: any) on the sensor or device within the window.
    case detection(subject: String, kind: FindingKind?, withinCycles: UInt64?, after: UInt64?)
    /// No detection (of `kind`, nil: any) on the sensor, device or plant section during the run.
    case noDetection(subject: String, kind: FindingKind?)
    /// An escalation about the target (for the reason, when given) within the window.
    case escalation(target: String, reason: EscalationReason?, withinCycles: UInt64?, after: UInt64?)
    /// No escalation about the target (nil: about anything).
    case noEscalation(target: String?)
    /// The interlock trips (within the window) or never trips; with `cleared`, it is (or is not) clear at the end.
    case interlock(id: String, tripped: Bool, withinCycles: UInt64?, after: UInt64?, cleared: Bool?)
    /// Every sampled value of the output in the cycle range is within [min, max].
    case outputsWithin(output: String, min: Double, max: Double, fromCycle: UInt64?, untilCycle: UInt64?)
    /// A plant-wide safe state (other than start-up and shutdown) is or is not entered.
    case safeState(Bool)
    /// Every sample of the sensor in the cycle range has a usable reading (readings recovered).
    case readingsGood(sensor: String, fromCycle: UInt64?, untilCycle: UInt64?)
    /// A repair of `strategy` (nil: any) on the device or group (`device`) is started within the window; with
    /// `verified` true it is also verified, with false it is never verified.
    case repair(device: String, strategy: RepairStrategy?, verified: Bool?, withinCycles: UInt64?, after: UInt64?)
    /// No repair (of `strategy`, nil: any) on the target (nil: on anything) after start-up.
    case noRepair(target: String?, strategy: RepairStrategy?)
    /// At cycle `atCycle` (nil: the last sample) the device's bus thread uses the `backup` path (or
    /// the primary when false), and polls it at an interval of at least `minPollIntervalMilliseconds`.
    case deviceState(device: String, backup: Bool?, minPollIntervalMilliseconds: Int?, atCycle: UInt64?)
    /// The number of failovers (of the group; nil: of every group) in the run is within [min, max].
    case failoverCount(group: String?, min: Int?, max: Int?)
    /// No group (or only `group`) ever fails over to `sensor`.
    case neverFailoverTo(sensor: String, group: String?)
    /// At cycle `atCycle` (nil: the last sample) control follows `sensor` in `group`.
    case activeSource(group: String, sensor: String, atCycle: UInt64?)
    /// The monitor settles on a root cause (of `cause`, nil: any) about the target within the window.
    case diagnosis(target: String, cause: RootCause?, withinCycles: UInt64?, after: UInt64?)
    /// No diagnosis (of `cause`) about the target (nil: about anything) in the run.
    case noDiagnosis(target: String?, cause: RootCause?)
    /// The alarms raised from cycle `fromCycle` on (about `target`, of `priority`; nil: any) number
    /// within [min, max].
    case alarms(target: String?, priority: DiagnosisSeverity?, min: Int?, max: Int?, fromCycle: UInt64?)
    /// None of the outputs (empty: every output) is ever latched safe by the intervention policy.
    case noLatchedOutputs(outputs: [String])

    /// Whether judging it needs the monitor's events.
    public var needsMonitor: Bool {
        switch self {
        case .failover, .detection, .escalation, .repair, .failoverCount, .activeSource, .diagnosis, .alarms: return true
        case .noFailover, .noDetection, .noEscalation, .interlock, .outputsWithin, .safeState, .readingsGood, .deviceState,
             .neverFailoverTo, .noDiagnosis, .noLatchedOutputs, .noRepair: return false
        }
    }
}

extension FindingKind {
    /// The name used in scenarios and reports (`stuck`, `deviceTimeouts`).
    public var scenarioName: String { String(describing: self) }
    static let byScenarioName: [String: FindingKind] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.scenarioName, $0) })
}

extension EscalationReason {
    public var scenarioName: String { String(describing: self) }
    static let byScenarioName: [String: EscalationReason] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.scenarioName, $0) })
}

extension RootCause {
    public var scenarioName: String { String(describing: self) }
    /// By full name (`busFault`) or short word (`bus`, `device`, `sensor`, `process`, `configuration`).
    static func byScenarioName(_ word: String) -> RootCause? {
        switch word {
        case "sensor", "sensorFault": return .sensorFault
        case "device", "deviceFault": return .deviceFault
        case "bus", "busFault": return .busFault
        case "process", "processExcursion": return .processExcursion
        case "configuration", "configurationError": return .configurationError
        default: return nil
        }
    }
    static let scenarioWords = "sensor, device, bus, process, configuration (or sensorFault, deviceFault, busFault, processExcursion, configurationError)"
}

extension DiagnosisSeverity {
    public var scenarioName: String {
        switch self {
        case .minor: return "minor"
        case .major: return "major"
        case .safety: return "safety"
        }
    }
}

extension RepairStrategy {
    public var scenarioName: String { String(describing: self) }
    static let byScenarioName: [String: RepairStrategy] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.scenarioName, $0) })
}
