import VigilCore

/// What an alarm is about: the root-cause key that flood suppression groups by.
public enum AlarmScope: Int32, Sendable, Hashable, CaseIterable {
    /// `index` is a sensor (plant.sensors).
    case sensor = 1
    /// `index` is a device (plant.devices).
    case device
    /// `index` is a redundancy group (plant.redundancy_groups).
    case group
    /// `index` is a multivariate plant section.
    case section
}

/// The root-cause key of an alarm: one key, one alarm.
public struct AlarmKey: Sendable, Hashable {
    public var scope: AlarmScope
    public var index: Int32
    public init(scope: AlarmScope, index: Int32) {
        self.scope = scope
        self.index = index
    }
}

/// ISA-18.2 alarm states (shelving is an overlay, see `Alarm.isShelved`).
///
/// | state | condition active | acknowledged | on the console |
/// |---|---|---|---|
/// | `unacknowledged` | yes | no | flashing |
/// | `acknowledged` | yes | yes | steady |
/// | `returnedUnacknowledged` | no | no | flashing, "RTN" |
/// | `cleared` | no | yes | gone (kept for the grouping window, then freed) |
public enum AlarmState: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case unacknowledged = 1
    case acknowledged
    case returnedUnacknowledged
    case cleared

    public var description: String {
        switch self {
        case .unacknowledged: return "unacknowledged"
        case .acknowledged: return "acknowledged"
        case .returnedUnacknowledged: return "returned-unacknowledged"
        case .cleared: return "cleared"
        }
    }
}

/// An escalation the monitor hands to the alarm manager: a finding, its diagnosis and the policy's decision.
public struct AlarmEscalation: Sendable, Hashable {
    public var finding: Finding
    public var cause: RootCause
    public var severity: DiagnosisSeverity
    public var reason: EscalationReason?
    public var decision: InterventionDecision
    /// The redundancy group a group-level escalation is about (no healthy source left, a failed
    /// failover); −1 when the finding's subject says what it is about.
    public var group: Int32

    public init(finding: Finding, cause: RootCause, severity: DiagnosisSeverity,
                reason: EscalationReason? = nil, decision: InterventionDecision, group: Int32 = -1) {
        self.finding = finding
        self.cause = cause
        self.severity = severity
        self.reason = reason
        self.decision = decision
        self.group = group
    }
}

/// One alarm: a root-cause key with its state and how often it fired.
public struct Alarm: Sendable, Hashable {
    public var id: UInt64
    public var key: AlarmKey
    /// Diagnosis of the first escalation.
    public var cause: RootCause
    public var reason: EscalationReason?
    /// Strictest decision seen.
    public var decision: InterventionDecision
    /// Highest severity seen.
    public var severity: DiagnosisSeverity
    public var state: AlarmState
    /// Shelved until this monotonic time; 0 when not shelved.
    public var shelvedUntilNanoseconds: UInt64
    public var firstRaisedNanoseconds: UInt64
    public var lastRaisedNanoseconds: UInt64
    public var lastChangeNanoseconds: UInt64
    /// Escalations counted on this alarm (including those of absorbed and suppressed alarms).
    public var occurrences: Int
    /// Lower-level alarms (a device's sensors, a group's members) folded into this one.
    public var absorbedAlarms: Int
    /// The first finding: the evidence the console shows.
    public var firstFinding: Finding
    /// The latest finding.
    public var lastFinding: Finding

    public var isShelved: Bool { shelvedUntilNanoseconds != 0 }
    /// Shown to the operator now: not cleared and not shelved.
    public var isAnnunciated: Bool { state != .cleared && !isShelved }
    /// Needs an acknowledgement.
    public var needsAcknowledgement: Bool { state == .unacknowledged || state == .returnedUnacknowledged }
}

/// What `AlarmManager.raise` did with an escalation.
public enum AlarmRaiseOutcome: Sendable, Hashable {
    /// A new alarm.
    case raised(id: UInt64)
    /// Counted on the existing alarm of the same root-cause key.
    case merged(id: UInt64)
    /// A sensor escalation counted on its device's (or group's) alarm instead.
    case suppressed(byID: UInt64)
    /// The policy decided on automatic repair: a journal event, not an alarm.
    case notAnAlarm
    /// No free slot; counted in `overflowCount`.
    case overflow
}

/// Why an operator command on an alarm was refused.
public enum AlarmCommandError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownAlarm(id: UInt64)
    /// Safety alarms cannot be shelved (ISA-18.2: shelving must not hide a safety function's alarm).
    case safetyAlarmNotShelvable(id: UInt64)
    case shelveDurationTooLong(requestedNanoseconds: UInt64, maximumNanoseconds: UInt64)
    case alarmCleared(id: UInt64)

    public var description: String {
        switch self {
        case .unknownAlarm(let id): return "no alarm \(id)"
        case .safetyAlarmNotShelvable(let id): return "alarm \(id) is a safety alarm and cannot be shelved"
        case let .shelveDurationTooLong(req, max):
            return "shelve for \(req / 1_000_000_000) s refused: at most \(max / 1_000_000_000) s"
        case .alarmCleared(let id): return "alarm \(id) is cleared"
        }
    }
}

/// Fixed plant facts the alarm manager groups by; built once from the plant configuration.
public struct AlarmTopology: Sendable, Hashable {
    /// Device index of each sensor (by sensor index); -1 for GPIO sensors.
    public var sensorDevice: [Int32]
    /// Redundancy group index of each sensor; -1 when it is in none.
    public var sensorGroup: [Int32]

    public init(sensorDevice: [Int32], sensorGroup: [Int32] = []) {
        self.sensorDevice = sensorDevice
        self.sensorGroup = sensorGroup.isEmpty ? Array(repeating: -1, count: sensorDevice.count) : sensorGroup
    }

    @inline(__always) public func device(ofSensor s: Int32) -> Int32 {
        s >= 0 && Int(s) < sensorDevice.count ? sensorDevice[Int(s)] : -1
    }

    @inline(__always) public func group(ofSensor s: Int32) -> Int32 {
        s >= 0 && Int(s) < sensorGroup.count ? sensorGroup[Int(s)] : -1
    }
}

/// Tuning of the alarm manager.
public struct AlarmConfiguration: Sendable, Hashable {
    /// Alarms held at once (active, returned and recently cleared).
    public var capacity: Int
    /// A cleared alarm is remembered this long after its last change: an escalation with the same key
    /// within it reopens the same alarm (chattering stays one alarm), and a device alarm absorbs its
    /// sensors' alarms raised within it.
    public var groupingWindowNanoseconds: UInt64
    /// Longest shelving an operator may ask for.
    public var maximumShelveNanoseconds: UInt64

    public init(capacity: Int = 256, groupingWindowNanoseconds: UInt64 = 60_000_000_000,
                maximumShelveNanoseconds: UInt64 = 8 * 3_600_000_000_000) {
        self.capacity = capacity
        self.groupingWindowNanoseconds = groupingWindowNanoseconds
        self.maximumShelveNanoseconds = maximumShelveNanoseconds
    }
}
