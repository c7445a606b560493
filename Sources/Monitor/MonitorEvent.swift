import VigilCore

/// Something the monitor decided this cycle. A plain value (no references, no strings), so the
/// cycle can write it into a preallocated list and hand it to the journal's queue.
public struct MonitorEvent: Sendable, Hashable {
    public enum Kind: Int32, Sendable, Hashable, CaseIterable {
        /// A detector started firing on a sensor or a device (`finding`).
        case detection = 1
        /// A root cause with severity and the finding that was its evidence: one per cause.
        case diagnosis
        /// A sensor's health changed (`fromState` → `toState`).
        case healthChange
        /// A group's active source moved (`fromSensor` → `toSensor`).
        case failover
        /// A group went back to its primary after the primary served its probation.
        case failback
        /// A repair was started or planned (`strategy`); device actions are for the runtime to execute.
        case repair
        /// A repair stayed clean for its verification period.
        case repairVerified
        /// A repair did not bring quality back within its verification period.
        case repairFailed
        /// A human is needed (`escalation`).
        case escalation
        /// The policy model changed a decision of the rules (`modelAssist`, `finding` the rule's
        /// evidence): a soft finding held back as a known false alarm, or a pair's disagreement
        /// attributed to one member.
        case modelAssist
        /// A detector stopped firing on a sensor or a device (`finding` names the kind; its
        /// statistic is the last value seen): the detection's return to normal.
        case findingCleared
    }

    public var kind: Kind
    public var cycle: UInt64
    /// Sensor index (plant.sensors), or -1.
    public var sensor: Int32 = -1
    /// Device index (plant.devices), or -1.
    public var device: Int32 = -1
    /// Redundancy group index (plant.redundancyGroups), or -1.
    public var group: Int32 = -1
    public var finding: Finding? = nil
    public var cause: RootCause? = nil
    public var severity: DiagnosisSeverity? = nil
    public var fromState: HealthState? = nil
    public var toState: HealthState? = nil
    /// Failover/failback: sensor indices; -1 when none.
    public var fromSensor: Int32 = -1
    public var toSensor: Int32 = -1
    public var strategy: RepairStrategy? = nil
    public var escalation: EscalationReason? = nil
    public var modelAssist: ModelAssist? = nil

    public init(kind: Kind, cycle: UInt64) {
        self.kind = kind
        self.cycle = cycle
    }
}

/// What the policy model may change in the rules' decisions (`monitor.policy_model.assist`). Never a
/// hard fault (out of range, dropout, stuck), a device or bus fault, a safety escalation or an
/// interlock: those are the rules' and the interlocks' alone.
public enum ModelAssist: Int32, Sendable, Hashable {
    /// A soft finding (noise, drift, rate, disagreement) that would have confirmed a fault was held
    /// back: the model calls the sensor healthy with confidence (a pattern operators called a false
    /// alarm). Bounded: after `modelMaxSuppressionSamples` the rule confirms anyway.
    case suppressedFalseAlarm = 1
    /// A pair's disagreement the rules could not attribute: the model blames exactly one member and
    /// clears the other, so the pair repairs itself instead of escalating.
    case resolvedPair
}

/// The policy model's confident verdict on a sensor, in the monitor's terms (the runtime maps the
/// model's class names; `nil` means no confident opinion).
public enum ModelDiagnosis: Int8, Sendable, Hashable, CaseIterable {
    case healthy, stuck, drift, bias, spike, noise, dropout, excursion

    public init?(name: String) {
        guard let d = Self.allCases.first(where: { "\($0)" == name }) else { return nil }
        self = d
    }

    /// A fault of the sensor itself (not healthy, not a real process change).
    public var isSensorFault: Bool { self != .healthy && self != .excursion }
}

/// The monitor's conclusion about one sensor or device, with the evidence kept.
public struct Diagnosis: Sendable, Hashable {
    public var cause: RootCause
    public var severity: DiagnosisSeverity
    /// The finding that decided it (its statistic and threshold are the evidence).
    public var evidence: Finding
    /// Cycle the first finding of this episode was seen.
    public var firstSeenCycle: UInt64
    public var decidedCycle: UInt64
}

/// Attempts and outcomes of one repair strategy.
public struct RepairRecord: Sendable, Hashable {
    public var attempted: Int = 0
    public var verified: Int = 0
    public var failed: Int = 0
    /// verified / (verified + failed), or nil before any outcome.
    public var successRate: Double? {
        let decided = verified + failed
        return decided == 0 ? nil : Double(verified) / Double(decided)
    }
}
