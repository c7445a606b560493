import VigilCore

/// What a detector can see. Sensor-level kinds first, then device/bus kinds, then plant-level.
public enum FindingKind: Int32, Sendable, Hashable, CaseIterable {
    // Sensor
    case outOfRange = 1, stuck, rateOfChange, spike, noise, drift, dropout, latency, disagreement
    // Device and bus
    case deviceTimeouts = 20, deviceExceptions, deviceCRCErrors, deviceDisconnected, deviceLatencyTrend
    // Plant section (multivariate)
    case multivariateT2 = 40, multivariateSPE
}

/// One detector firing, with the statistic that crossed its threshold (the evidence a console
/// shows). A plain value so the cycle can keep fixed-capacity arrays of them.
public struct Finding: Sendable, Hashable {
    public var kind: FindingKind
    /// Sensor index (plant.sensors), device index (plant.devices) or section index, by kind.
    public var subject: Int32
    public var statistic: Double
    public var threshold: Double
    public var cycle: UInt64

    public init(kind: FindingKind, subject: Int32, statistic: Double, threshold: Double, cycle: UInt64) {
        self.kind = kind
        self.subject = subject
        self.statistic = statistic
        self.threshold = threshold
        self.cycle = cycle
    }
}

/// The root cause the monitor settles on.
public enum RootCause: Int32, Sendable, Hashable, CaseIterable {
    case sensorFault = 1
    case deviceFault
    case busFault
    /// The plant really changed: redundant sensors agree. Not a sensor fault; never a failover.
    case processExcursion
    case configurationError
}

/// How bad a diagnosis is; the intervention policy maps (cause, severity) to automatic repair or a human.
public enum DiagnosisSeverity: Int32, Sendable, Hashable, Comparable, CaseIterable {
    case minor = 1, major, safety
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Per-sensor health, with hysteresis between states.
public enum HealthState: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case healthy = 1, suspect, faulty, quarantined, probation
    public var description: String {
        switch self {
        case .healthy: return "healthy"
        case .suspect: return "suspect"
        case .faulty: return "faulty"
        case .quarantined: return "quarantined"
        case .probation: return "probation"
        }
    }

    /// In service and not confirmed faulty: healthy, or suspect (a finding that has not been
    /// confirmed; a process excursion makes every member of a group suspect for a moment).
    public var isTrusted: Bool { self == .healthy || self == .suspect }
}

/// Repairs the monitor can choose.
public enum RepairStrategy: Int32, Sendable, Hashable, CaseIterable {
    case failoverToBackup = 1
    case holdLastGood
    case reconnect
    case switchToBackupGateway
    case slowPolling
    case groupSafeAction
}

/// Why something went to a human.
public enum EscalationReason: Int32, Sendable, Hashable, CaseIterable {
    case safetyLimit = 1
    case policyViolation
    case modelError
    case repairFailed
    case noHealthySource
    case configurationError
    /// Two redundant sensors disagree and nothing says which one is wrong (a pair cannot vote).
    case unresolvedDisagreement
    /// The intervention policy sends this diagnosis to an operator instead of an automatic repair.
    case interventionPolicy
}
