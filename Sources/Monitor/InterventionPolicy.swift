import VigilCore

/// What the controller does about a diagnosis: heal it, call a human, or call a human and make safe.
public enum InterventionDecision: Int32, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Vigil repairs on its own (failover, hold last good, reconnect, slow polling) and logs it.
    case automaticRepair = 1
    /// An operator decides; Vigil keeps running with what it has.
    case operatorIntervention
    /// An operator decides, and the affected outputs go to their safe values now.
    case operatorInterventionAndSafeOutputs

    /// Stricter decisions compare greater, so combining two decisions is `max`.
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public var description: String { configName }

    /// The snake_case name used in configuration files.
    public var configName: String { settingsName.rawValue }
}

/// Families of finding kinds, so one policy rule can cover several kinds.
public enum FindingCategory: Int32, Sendable, Hashable, CaseIterable {
    /// Slow answers: `latency`, `deviceLatencyTrend`.
    case latency = 1
    /// A sensor's value is wrong or missing: out of range, stuck, rate of change, spike, noise, drift, dropout, disagreement.
    case accuracy
    /// A device or the bus misbehaves: timeouts, exceptions, CRC errors, disconnected.
    case communication
    /// A plant section left its learned correlation structure (T², SPE).
    case multivariate

    /// The category a finding kind belongs to.
    @inline(__always)
    public static func of(_ kind: FindingKind) -> FindingCategory {
        switch kind {
        case .latency, .deviceLatencyTrend: return .latency
        case .outOfRange, .stuck, .rateOfChange, .spike, .noise, .drift, .dropout, .disagreement: return .accuracy
        case .deviceTimeouts, .deviceExceptions, .deviceCRCErrors, .deviceDisconnected: return .communication
        case .multivariateT2, .multivariateSPE: return .multivariate
        }
    }

    /// The snake_case name used in configuration files (after `category:`).
    public var configName: String { settingsName.rawValue }
}

/// One situation the policy judges: the diagnosis, and the escalation reason if the monitor already has one.
public struct InterventionSituation: Sendable, Hashable {
    public var cause: RootCause
    public var kind: FindingKind
    public var severity: DiagnosisSeverity
    /// Set when the monitor already knows why a human is needed (no healthy source, repair failed, …).
    public var reason: EscalationReason?

    public init(cause: RootCause, kind: FindingKind, severity: DiagnosisSeverity, reason: EscalationReason? = nil) {
        self.cause = cause
        self.kind = kind
        self.severity = severity
        self.reason = reason
    }
}

/// A dense (root cause × finding kind × severity) decision table plus one row per escalation reason.
///
/// `lookup` returns the stricter of the table's cell and the reason's row: a reason can only make a
/// decision stricter, never relax it, so a safety-severity diagnosis keeps its safe outputs even when
/// the reason given is only "repair failed". The table is built once (allocation allowed); `lookup`
/// indexes two preallocated arrays and never allocates.
public struct InterventionPolicy: Sendable, Hashable {
    static let causeCount = RootCause.allCases.count
    static let kindCount = FindingKind.allCases.count
    static let severityCount = DiagnosisSeverity.allCases.count
    static let reasonCount = EscalationReason.allCases.count

    private var cells: [InterventionDecision]
    private var reasonCells: [InterventionDecision]

    /// A table in which every cell is `decision` and every escalation reason means `reasonDecision`.
    public init(uniform decision: InterventionDecision, reasonDecision: InterventionDecision = .operatorIntervention) {
        cells = Array(repeating: decision, count: Self.causeCount * Self.kindCount * Self.severityCount)
        reasonCells = Array(repeating: reasonDecision, count: Self.reasonCount)
    }

    /// The decision for one situation. Does not allocate.
    @inline(__always)
    public func lookup(_ situation: InterventionSituation) -> InterventionDecision {
        lookup(cause: situation.cause, kind: situation.kind, severity: situation.severity, reason: situation.reason)
    }

    /// The decision for one situation. Does not allocate.
    @inline(__always)
    public func lookup(cause: RootCause, kind: FindingKind, severity: DiagnosisSeverity,
                       reason: EscalationReason? = nil) -> InterventionDecision {
        let cell = cells[Self.index(cause: cause, kind: kind, severity: severity)]
        guard let reason else { return cell }
        return max(cell, reasonCells[Self.reasonIndex(reason)])
    }

    /// The decision an escalation reason alone forces (the floor `lookup` applies).
    public func decision(for reason: EscalationReason) -> InterventionDecision {
        reasonCells[Self.reasonIndex(reason)]
    }

    /// Sets every cell matching the pattern (nil = any) to `decision`.
    public mutating func set(_ decision: InterventionDecision, cause: RootCause? = nil, finding: FindingPattern = .any,
                             severity: DiagnosisSeverity? = nil) {
        for c in RootCause.allCases where cause == nil || cause == c {
            for k in FindingKind.allCases where finding.matches(k) {
                for s in DiagnosisSeverity.allCases where severity == nil || severity == s {
                    cells[Self.index(cause: c, kind: k, severity: s)] = decision
                }
            }
        }
    }

    /// Sets what an escalation reason forces.
    public mutating func set(_ decision: InterventionDecision, reason: EscalationReason) {
        reasonCells[Self.reasonIndex(reason)] = decision
    }

    /// Which finding kinds a rule covers.
    public enum FindingPattern: Sendable, Hashable {
        case any
        case kind(FindingKind)
        case category(FindingCategory)

        public func matches(_ kind: FindingKind) -> Bool {
            switch self {
            case .any: return true
            case .kind(let k): return k == kind
            case .category(let c): return FindingCategory.of(kind) == c
            }
        }
    }

    // MARK: Defaults

    /// Vigil's defaults (docs/MONITOR-POLICY.md), applied in order, later rules winning:
    /// 1. anything not covered below goes to an operator (an unknown case is never healed blindly);
    /// 2. latency problems are repaired (slow polling, backup gateway) at minor and major severity;
    /// 3. sensor accuracy loss at minor severity is repaired (filter, hold, failover);
    /// 4. stuck, out of range, spike and dropout are repaired at major severity too: failing over to a
    ///    healthy backup fully restores the value. Without a healthy backup (or, but for dropouts,
    ///    without a redundancy group) the monitor gives reason `noHealthySource`, which sends it to an operator;
    /// 5. device and bus communication faults are repaired (reconnect, backup gateway) at minor and major;
    /// 6. process excursions and configuration errors always go to an operator: there is nothing to repair;
    /// 7. safety severity always means operator and safe outputs;
    /// reasons: `safetyLimit` → operator and safe outputs; every other reason (policy violation, model
    /// error, repair failed, no healthy source, configuration error) → operator.
    public static let defaults: InterventionPolicy = {
        var p = InterventionPolicy(uniform: .operatorIntervention)
        for cause in [RootCause.sensorFault, .deviceFault, .busFault] {
            for sev in [DiagnosisSeverity.minor, .major] {
                p.set(.automaticRepair, cause: cause, finding: .category(.latency), severity: sev)
                p.set(.automaticRepair, cause: cause, finding: .category(.communication), severity: sev)
            }
            p.set(.automaticRepair, cause: cause, finding: .category(.accuracy), severity: .minor)
            for kind in [FindingKind.stuck, .outOfRange, .spike, .dropout] {
                p.set(.automaticRepair, cause: cause, finding: .kind(kind), severity: .major)
            }
        }
        p.set(.operatorIntervention, cause: .processExcursion)
        p.set(.operatorIntervention, cause: .configurationError)
        p.set(.operatorInterventionAndSafeOutputs, severity: .safety)
        for reason in EscalationReason.allCases {
            p.set(reason == .safetyLimit ? .operatorInterventionAndSafeOutputs : .operatorIntervention, reason: reason)
        }
        return p
    }()

    // MARK: Indexing

    @inline(__always)
    static func index(cause: RootCause, kind: FindingKind, severity: DiagnosisSeverity) -> Int {
        (causeIndex(cause) * kindCount + kindIndex(kind)) * severityCount + Int(severity.rawValue - 1)
    }

    @inline(__always)
    static func causeIndex(_ cause: RootCause) -> Int { Int(cause.rawValue - 1) }

    @inline(__always)
    static func reasonIndex(_ reason: EscalationReason) -> Int { Int(reason.rawValue - 1) }

    /// Dense 0-based index of a finding kind (raw values have gaps between families).
    @inline(__always)
    static func kindIndex(_ kind: FindingKind) -> Int {
        switch kind {
        case .outOfRange: return 0
        case .stuck: return 1
        case .rateOfChange: return 2
        case .spike: return 3
        case .noise: return 4
        case .drift: return 5
        case .dropout: return 6
        case .latency: return 7
        case .disagreement: return 8
        case .deviceTimeouts: return 9
        case .deviceExceptions: return 10
        case .deviceCRCErrors: return 11
        case .deviceDisconnected: return 12
        case .deviceLatencyTrend: return 13
        case .multivariateT2: return 14
        case .multivariateSPE: return 15
        }
    }
}
