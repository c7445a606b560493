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
    /// The entry at `path` would send a safety-severity diagnosis or a `safety_limit` escalation
    /// somewhere other than an operator with safe outputs.
    case relaxesSafety(path: String, found: String)

    public var description: String {
        switch self {
        case let .unknownName(path, field, found, expected):
            let at = path.isEmpty ? field : "\(path).\(field)"
            return "\(at): unknown name '\(found)'; expected one of: \(expected.joined(separator: ", "))"
        case let .relaxesSafety(path, found):
            let at = path.isEmpty ? "decision" : "\(path).decision"
            return "\(at): '\(found)' for a safety case; expected operator_intervention_and_safe_outputs (safety is never relaxed)"
        }
    }
}

extension InterventionPolicy {
    /// Builds a policy from configuration entries, applied in order on top of `base` (later entries win).
    /// Unknown names are errors listing the allowed names; nothing is guessed.
    public init(base: InterventionPolicy = .defaults, entries: [InterventionPolicyEntry],
                reasons: [InterventionReasonEntry] = []) throws(InterventionPolicyError) {
        var settings = MonitorSettings()
        for e in entries {
            let cause = try Self.parseOptional(e.cause, field: "cause", path: e.path, names: RootCause.policyNames)
            let severity = try Self.parseOptional(e.severity, field: "severity", path: e.path, names: DiagnosisSeverity.policyNames)
            let finding = try Self.parseFinding(e.finding, path: e.path)
            let decision = try Self.parse(e.decision, field: "decision", path: e.path, names: InterventionDecision.configNames)
            if severity == .safety && decision != .operatorInterventionAndSafeOutputs {
                throw .relaxesSafety(path: e.path, found: e.decision)
            }
            let pattern: MonitorSettings.FindingPattern
            switch finding {
            case .any: pattern = .any
            case .kind(let k): pattern = .kind(k.settingsName)
            case .category(let c): pattern = .category(c.settingsName)
            }
            settings.policy.append(MonitorSettings.PolicyRule(cause: cause?.settingsName, finding: pattern,
                                                              severity: severity?.settingsName, decision: decision.settingsName))
        }
        for r in reasons {
            let names = EscalationReason.policyNames.compactMap { n in n.1.settingsName.map { (n.0, $0) } }
            let reason = try Self.parse(r.reason, field: "reason", path: r.path, names: names)
            let decision = try Self.parse(r.decision, field: "decision", path: r.path, names: InterventionDecision.configNames)
            if reason == .safetyLimit && decision != .operatorInterventionAndSafeOutputs {
                throw .relaxesSafety(path: r.path, found: r.decision)
            }
            settings.reasons.append(MonitorSettings.ReasonRule(reason: reason, decision: decision.settingsName))
        }
        self.init(settings: settings, base: base)
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
    public var policyName: String { settingsName.rawValue }
    static var policyNames: [(String, RootCause)] { allCases.map { ($0.policyName, $0) } }
}

extension DiagnosisSeverity {
    /// The snake_case name used in configuration files.
    public var policyName: String { settingsName.rawValue }
    static var policyNames: [(String, DiagnosisSeverity)] { allCases.map { ($0.policyName, $0) } }
}

extension EscalationReason {
    /// The snake_case name used in configuration files and tables.
    public var policyName: String { settingsName?.rawValue ?? "intervention_policy" }
    static var policyNames: [(String, EscalationReason)] { allCases.map { ($0.policyName, $0) } }
}

extension FindingKind {
    /// The snake_case name used in configuration files.
    public var policyName: String { settingsName.rawValue }
    static var policyNames: [(String, FindingKind)] { allCases.map { ($0.policyName, $0) } }
}
