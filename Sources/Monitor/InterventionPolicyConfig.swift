import VigilCore

/// One rule as written in a configuration file; every field is a snake_case name or `*` (any).
///
/// `finding` is a kind (`stuck`, `device_timeouts`), a category (`category:latency`,
/// `category:accuracy`, `category:communication`, `category:multivariate`) or `*`.
public struct InterventionPolicyEntry: Sendable, Hashable {
    public var cause: String
    public var finding: String
    public var severity: String
    public var decision: String
    /// Where the entry came from (`monitor.policy[3]`), for error messages.
    public var path: String

    public init(cause: String = "*", finding: String = "*", severity: String = "*", decision: String, path: String = "") {
        self.cause = cause
        self.finding = finding
        self.severity = severity
        self.decision = decision
        self.path = path
    }
}

/// What an escalation reason forces, as written in a configuration file.
public struct InterventionReasonEntry: Sendable, Hashable {
    public var reason: String
    public var decision: String
    public var path: String

    public init(reason: String, decision: String, path: String = "") {
        self.reason = reason
        self.decision = decision
        self.path = path
    }
}

/// Why a policy entry was refused.
public enum InterventionPolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `field` of the entry at `path` holds a name that is not one of `expected`.
    case unknownName(path: String, field: String, found: String, expected: [String])

    public var description: String {
        switch self {
        case let .unknownName(path, field, found, expected):
            let at = path.isEmpty ? field : "\(path).\(field)"
            return "\(at): unknown name '\(found)'; expected one of: \(expected.joined(separator: ", "))"
        }
    }
}

extension InterventionPolicy {
    /// Builds a policy from configuration entries, applied in order on top of `base` (later entries win).
    /// Unknown names are errors listing the allowed names; nothing is guessed.
    public init(base: InterventionPolicy = .defaults, entries: [InterventionPolicyEntry],
                reasons: [InterventionReasonEntry] = []) throws(InterventionPolicyError) {
        var p = base
        for e in entries {
            let cause = try Self.parseOptional(e.cause, field: "cause", path: e.path, names: RootCause.policyNames)
            let severity = try Self.parseOptional(e.severity, field: "severity", path: e.path, names: DiagnosisSeverity.policyNames)
            let finding = try Self.parseFinding(e.finding, path: e.path)
            let decision = try Self.parse(e.decision, field: "decision", path: e.path, names: InterventionDecision.configNames)
            p.set(decision, cause: cause, finding: finding, severity: severity)
        }
        for r in reasons {
            let reason = try Self.parse(r.reason, field: "reason", path: r.path, names: EscalationReason.policyNames)
            let decision = try Self.parse(r.decision, field: "decision", path: r.path, names: InterventionDecision.configNames)
            p.set(decision, reason: reason)
        }
        self = p
    }

    static func parse<T>(_ text: String, field: String, path: String, names: [(String, T)]) throws(InterventionPolicyError) -> T {
        if let hit = names.first(where: { $0.0 == text }) { return hit.1 }
        throw .unknownName(path: path, field: field, found: text, expected: names.map(\.0))
    }

    static func parseOptional<T>(_ text: String, field: String, path: String, names: [(String, T)]) throws(InterventionPolicyError) -> T? {
        if text == "*" { return nil }
        if let hit = names.first(where: { $0.0 == text }) { return hit.1 }
        throw .unknownName(path: path, field: field, found: text, expected: ["*"] + names.map(\.0))
    }

    static func parseFinding(_ text: String, path: String) throws(InterventionPolicyError) -> FindingPattern {
        if text == "*" { return .any }
        if let hit = FindingKind.policyNames.first(where: { $0.0 == text }) { return .kind(hit.1) }
        let categories = FindingCategory.allCases.map { ("category:" + $0.configName, $0) }
        if let hit = categories.first(where: { $0.0 == text }) { return .category(hit.1) }
        throw .unknownName(path: path, field: "finding", found: text,
                           expected: ["*"] + FindingKind.policyNames.map(\.0) + categories.map(\.0))
    }
}

extension InterventionDecision {
    static var configNames: [(String, InterventionDecision)] { allCases.map { ($0.configName, $0) } }
}

extension RootCause {
    /// The snake_case name used in configuration files.
    public var policyName: String {
        switch self {
        case .sensorFault: return "sensor_fault"
        case .deviceFault: return "device_fault"
        case .busFault: return "bus_fault"
        case .processExcursion: return "process_excursion"
        case .configurationError: return "configuration_error"
        }
    }
    static var policyNames: [(String, RootCause)] { allCases.map { ($0.policyName, $0) } }
}

extension DiagnosisSeverity {
    /// The snake_case name used in configuration files.
    public var policyName: String {
        switch self {
        case .minor: return "minor"
        case .major: return "major"
        case .safety: return "safety"
        }
    }
    static var policyNames: [(String, DiagnosisSeverity)] { allCases.map { ($0.policyName, $0) } }
}

extension EscalationReason {
    /// The snake_case name used in configuration files.
    public var policyName: String {
        switch self {
        case .safetyLimit: return "safety_limit"
        case .policyViolation: return "policy_violation"
        case .modelError: return "model_error"
        case .repairFailed: return "repair_failed"
        case .noHealthySource: return "no_healthy_source"
        case .configurationError: return "configuration_error"
        case .unresolvedDisagreement: return "unresolved_disagreement"
        }
    }
    static var policyNames: [(String, EscalationReason)] { allCases.map { ($0.policyName, $0) } }
}

extension FindingKind {
    /// The snake_case name used in configuration files.
    public var policyName: String {
        switch self {
        case .outOfRange: return "out_of_range"
        case .stuck: return "stuck"
        case .rateOfChange: return "rate_of_change"
        case .spike: return "spike"
        case .noise: return "noise"
        case .drift: return "drift"
        case .dropout: return "dropout"
        case .latency: return "latency"
        case .disagreement: return "disagreement"
        case .deviceTimeouts: return "device_timeouts"
        case .deviceExceptions: return "device_exceptions"
        case .deviceCRCErrors: return "device_crc_errors"
        case .deviceDisconnected: return "device_disconnected"
        case .deviceLatencyTrend: return "device_latency_trend"
        case .multivariateT2: return "multivariate_t2"
        case .multivariateSPE: return "multivariate_spe"
        }
    }
    static var policyNames: [(String, FindingKind)] { allCases.map { ($0.policyName, $0) } }
}
