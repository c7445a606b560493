/// What happened, as the journal records it.
public enum EventKind: UInt8, Sendable, Hashable, CaseIterable {
    case startup = 1, shutdown
    case detection, failover, repair, escalation
    case interlockTripped, interlockCleared
    case safeStateEntered, safeStateLeft
    case overrun, overrunStorm, watchdogStall
    case deviceDown, deviceUp
    case commandApplied
    case limitCrossed
    /// Monitor: a root cause settled (`code` = RootCause, `value` = FindingKind of its evidence).
    case diagnosis
    /// Monitor: a sensor's health state changed (`code` = new HealthState, `value` = old).
    case healthChanged
    /// Monitor: a group returned to its primary after probation (`code` from, `value` to).
    case failback
    /// The intervention policy forced the outputs a safety escalation is about to their safe values
    /// (`subject` = the escalation's sensor or group, `code` = outputs newly forced); latched until an
    /// operator resets the safe state.
    case safeOutputsForced
    /// The policy model's verdict on a sensor changed and held for a few cycles (`subject` = the
    /// sensor, `code` = diagnosis class index, `value` = action index, `value2` = the class's int8
    /// logit). Advisory: the monitor's rules and the interlocks decide.
    case modelVerdict
    /// The policy model changed a rule's decision (`monitor.policy_model.assist`): `subject` = the
    /// sensor, `code` = 1 a soft finding held back as a known false alarm, 2 a pair's disagreement
    /// attributed to this sensor; `value` = the rule's FindingKind, `value2` its statistic.
    case modelAssist
}

/// How much an event matters. The journal never drops `safety` events; when its queue is full it
/// drops the oldest events of the lowest severity first, and counts them.
public enum EventSeverity: UInt8, Sendable, Hashable, Comparable, CaseIterable {
    case debug = 0, info, warning, alarm, safety

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One event from the controller. A plain value with no references, so the cycle thread can hand
/// it to the journal's queue without allocating; `subject` indexes a name table the journal gets
/// at start (sensor, output, device, limit or control ids).
public struct ControllerEvent: Sendable, Hashable {
    public var kind: EventKind
    public var severity: EventSeverity
    /// `CLOCK_REALTIME`, nanoseconds since 1970: what an operator reads.
    public var wallNanoseconds: Int64
    /// `CLOCK_MONOTONIC` nanoseconds: for ordering and intervals.
    public var monotonicNanoseconds: UInt64
    /// Index into the journal's subject names; -1 for none.
    public var subject: Int32
    /// Kind-specific code (a `BadReason`, a `SafeStateReason`, an exception code, …).
    public var code: Int32
    public var value: Double
    public var value2: Double

    public init(kind: EventKind, severity: EventSeverity, wallNanoseconds: Int64, monotonicNanoseconds: UInt64,
                subject: Int32 = -1, code: Int32 = 0, value: Double = 0, value2: Double = 0) {
        self.kind = kind
        self.severity = severity
        self.wallNanoseconds = wallNanoseconds
        self.monotonicNanoseconds = monotonicNanoseconds
        self.subject = subject
        self.code = code
        self.value = value
        self.value2 = value2
    }
}

/// Why outputs were driven to their safe values.
public enum SafeStateReason: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case startup = 1
    case interlock
    case fatalFault
    case overrunStorm
    case watchdogStall
    case shutdown
    case operatorRequest

    public var description: String {
        switch self {
        case .startup: return "start-up (no good cycle yet)"
        case .interlock: return "interlock"
        case .fatalFault: return "fatal fault"
        case .overrunStorm: return "overrun storm"
        case .watchdogStall: return "cycle stalled (watchdog)"
        case .shutdown: return "orderly shutdown"
        case .operatorRequest: return "operator request"
        }
    }
}
