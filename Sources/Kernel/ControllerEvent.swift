import VigilCore
import Monitor

/// What a finding is about: a sensor, a device (or its bus) or a plant section. Indices are the
/// plant's (`plant.sensors`, `plant.devices`, `plant.sections`).
public enum FindingSubject: Sendable, Hashable {
    case sensor(Int32)
    case device(Int32)
    case section(Int32)
}

/// What a diagnosis, an escalation, a repair or a forced output is about.
public enum EventSubject: Sendable, Hashable {
    case sensor(Int32)
    case device(Int32)
    /// A redundancy group (`plant.redundancy_groups`).
    case group(Int32)
    case section(Int32)
}

/// Where a repair stands.
public enum RepairPhase: Int32, Sendable, Hashable, CaseIterable {
    case started = 0, verified = 1, failed = -1
}

/// One alarm's state as it changed (ISA-18.2 state plus shelving), enough to rebuild the alarm
/// list from the journal alone.
public struct AlarmChange: Sendable, Hashable {
    public var id: UInt64
    public var key: AlarmKey
    public var state: AlarmState
    public var severity: DiagnosisSeverity
    public var shelved: Bool
    /// The alarm left the manager's memory (freed after its grouping window, or folded into a
    /// device or group alarm).
    public var removed: Bool

    public init(id: UInt64, key: AlarmKey, state: AlarmState, severity: DiagnosisSeverity, shelved: Bool, removed: Bool = false) {
        self.id = id
        self.key = key
        self.state = state
        self.severity = severity
        self.shelved = shelved
        self.removed = removed
    }
}

/// Which operator command an event is about (the command's own numbers are in the audit log).
public enum CommandKind: Int32, Sendable, Hashable, CaseIterable {
    case setMode = 1, setManualOutput, setSetpoint, requestSafeState, resetSafeState, stallCycle
    case acknowledgeAlarm, shelveAlarm, unshelveAlarm, forceSource, releaseSource
}

/// Everything the controller decides or sees happen, as one typed value. The cycle kernel returns
/// these; the journal stores them through `EventCodec`; the console, the scenario judge, replay and
/// `vigil run`'s log read them back through the same codec. Every payload is a plain value (no
/// references), so an event moves through the cycle's fixed-capacity buffers without allocating.
public enum ControllerEvent: Sendable, Hashable {
    // The cycle
    /// The cycle runs, at this period.
    case started(periodNanoseconds: UInt64)
    /// Orderly shutdown: outputs commanded safe.
    case stopped
    /// Start-up's first round ended: every Modbus sensor has been read once (good or bad), or the
    /// deadline passed with `unread` sensors never read (`firstUnread` the first, −1: none). The
    /// monitor judges from this step on.
    case firstRound(waitedNanoseconds: UInt64, unread: Int32, firstUnread: Int32)
    /// A cycle finished this long after the next cycle's deadline.
    case overrun(lateNanoseconds: UInt64)
    /// Overruns in a row reached the storm limit: every output safe.
    case overrunStorm(consecutive: Int32)
    /// The watchdog saw the cycle stall: outputs forced safe by the bus threads.
    case watchdogStall

    // The monitor
    /// A detector started firing.
    case findingRaised(FindingSubject, FindingKind, statistic: Double, threshold: Double)
    /// A detector stopped firing (the finding's return to normal).
    case findingCleared(FindingSubject, FindingKind)
    /// A root cause settled, with its evidence.
    case diagnosis(EventSubject, RootCause, evidence: FindingKind, statistic: Double, severity: DiagnosisSeverity)
    case healthChanged(sensor: Int32, from: HealthState, to: HealthState)
    /// A group's control moved from one member to another (an operator's choice when `byOperator`).
    case failover(group: Int32, from: Int32, to: Int32, byOperator: Bool)
    /// A group went back to its primary after probation.
    case failback(group: Int32, from: Int32, to: Int32)
    case repair(EventSubject, RepairStrategy, RepairPhase)
    /// A human is needed.
    case escalation(EventSubject, EscalationReason)
    /// The policy model's verdict on a sensor changed and held (advisory).
    case modelVerdict(sensor: Int32, diagnosis: Int32, action: Int32, logit: Int32)
    /// The policy model changed a rule's decision (`monitor.policy_model.assist`).
    case modelAssist(sensor: Int32, ModelAssist, rule: FindingKind, statistic: Double)

    // Alarms
    case alarm(AlarmChange)

    // Control, interlocks and safe state
    case interlockTripped(limit: Int32, value: Double)
    case interlockCleared(limit: Int32, value: Double)
    case limitCrossed(limit: Int32, value: Double)
    case limitCleared(limit: Int32, value: Double)
    /// A control loop's input became unusable: it holds its output.
    case controlHolding(control: Int32, value: Double)
    case controlResumed(control: Int32, value: Double)
    case safeStateEntered(SafeStateReason)
    case safeStateLeft(SafeStateReason)
    /// The intervention policy latched the outputs a safety escalation is about at their safe values.
    case safeOutputsForced(EventSubject, outputs: Int32)

    // Operator commands
    case commandApplied(CommandKind)
    case commandRefused(CommandKind, CommandResult)

    /// How much it matters. The journal never drops `safety` events.
    public var severity: EventSeverity {
        switch self {
        case .started, .stopped: return .info
        case .firstRound(_, let unread, _): return unread == 0 ? .info : .warning
        case .overrun: return .warning
        case .overrunStorm, .watchdogStall: return .safety
        case .findingRaised(let subject, _, _, _):
            if case .section = subject { return .warning }
            return .info
        case .findingCleared: return .debug
        case .diagnosis(_, _, _, _, let severity): return severity == .safety ? .alarm : .warning
        case .healthChanged(_, _, let to): return to == .faulty || to == .quarantined ? .warning : .info
        case .failover: return .warning
        case .failback: return .info
        case .repair(_, _, let phase): return phase == .failed ? .alarm : .info
        case .escalation: return .alarm
        case .modelVerdict, .modelAssist: return .info
        case .alarm(let change): return change.removed ? .debug : change.state == .unacknowledged ? .alarm : .info
        case .interlockTripped, .interlockCleared, .safeStateEntered, .safeStateLeft, .safeOutputsForced: return .safety
        case .limitCrossed: return .alarm
        case .limitCleared: return .info
        case .controlHolding: return .warning
        case .controlResumed: return .info
        case .commandApplied: return .info
        case .commandRefused: return .warning
        }
    }
}

/// An event with the plant time and cycle it happened at. Plant time is the monotonic clock the
/// kernel was given: `CLOCK_MONOTONIC` in production, the manual clock in simulation and replay.
public struct TimedEvent: Sendable, Hashable {
    public var plantNanoseconds: UInt64
    public var cycle: UInt64
    public var event: ControllerEvent

    public init(plantNanoseconds: UInt64, cycle: UInt64, event: ControllerEvent) {
        self.plantNanoseconds = plantNanoseconds
        self.cycle = cycle
        self.event = event
    }

    public var severity: EventSeverity { event.severity }
}
