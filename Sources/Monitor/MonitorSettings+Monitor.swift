import VigilCore

// The plant file's policy rows and names (VigilCore's `MonitorSettings`) turned into the monitor's
// types; the monitor reads the knobs from `MonitorSettings` directly. The name mappings below are
// exhaustive switches in both directions, so a case added on either side without its counterpart
// does not compile.

extension InterventionPolicy {
    /// `base` with the file's rows and reasons applied in order (later rows win).
    ///
    /// Safety is a floor no setting moves: a row without a severity covers minor and major only,
    /// a row for severity `safety` or reason `safety_limit` can only say operator and safe outputs
    /// (the config decoder refuses anything else; here it is clamped), and after all rows every
    /// safety cell and the `safetyLimit` reason are set to `operatorInterventionAndSafeOutputs`.
    public init(settings s: MonitorSettings, base: InterventionPolicy = .defaults) {
        var p = base
        for rule in s.policy { p.apply(rule) }
        for r in s.reasons {
            let reason = EscalationReason(settings: r.reason)
            p.set(reason == .safetyLimit ? .operatorInterventionAndSafeOutputs : InterventionDecision(settings: r.decision), reason: reason)
        }
        p.set(.operatorInterventionAndSafeOutputs, severity: .safety)
        p.set(.operatorInterventionAndSafeOutputs, reason: .safetyLimit)
        self = p
    }

    /// One row; never lowers a safety cell.
    mutating func apply(_ rule: MonitorSettings.PolicyRule) {
        let cause = rule.cause.map(RootCause.init(settings:))
        let finding: FindingPattern
        switch rule.finding {
        case .any: finding = .any
        case .kind(let k): finding = .kind(FindingKind(settings: k))
        case .category(let c): finding = .category(FindingCategory(settings: c))
        }
        let decision = InterventionDecision(settings: rule.decision)
        let severities: [DiagnosisSeverity] = rule.severity.map { [DiagnosisSeverity(settings: $0)] } ?? [.minor, .major]
        for severity in severities {
            set(severity == .safety ? .operatorInterventionAndSafeOutputs : decision, cause: cause, finding: finding, severity: severity)
        }
    }

    private func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }

    /// The table as text, one line per cause and severity: each decision with the finding kinds it
    /// covers, then one line per escalation reason. Cells that differ from `reference` are marked `*`.
    public func tableLines(comparedTo reference: InterventionPolicy = .defaults) -> [String] {
        var lines: [String] = []
        let causeWidth = RootCause.allCases.map(\.policyName.count).max() ?? 0
        for cause in RootCause.allCases {
            for severity in DiagnosisSeverity.allCases {
                var parts: [String] = []
                for decision in InterventionDecision.allCases {
                    let kinds = FindingKind.allCases.filter { lookup(cause: cause, kind: $0, severity: severity) == decision }
                    guard !kinds.isEmpty else { continue }
                    let marked = kinds.map { kind in
                        kind.policyName + (reference.lookup(cause: cause, kind: kind, severity: severity) == decision ? "" : "*")
                    }
                    let unchanged = !marked.contains { $0.hasSuffix("*") }
                    let names = kinds.count == FindingKind.allCases.count && unchanged ? ["*"] : marked
                    parts.append("\(decision.configName): \(names.joined(separator: ", "))")
                }
                let label = pad(cause.policyName, causeWidth)
                lines.append("\(label)  \(pad(severity.policyName, 6))  " + parts.joined(separator: " | "))
            }
        }
        for reason in EscalationReason.allCases {
            let d = decision(for: reason)
            lines.append("reason \(reason.policyName): \(d.configName)\(reference.decision(for: reason) == d ? "" : " *")")
        }
        return lines
    }
}

// MARK: Names

extension RootCause {
    public init(settings c: MonitorSettings.Cause) {
        switch c {
        case .sensorFault: self = .sensorFault
        case .deviceFault: self = .deviceFault
        case .busFault: self = .busFault
        case .processExcursion: self = .processExcursion
        case .configurationError: self = .configurationError
        }
    }

    public var settingsName: MonitorSettings.Cause {
        switch self {
        case .sensorFault: return .sensorFault
        case .deviceFault: return .deviceFault
        case .busFault: return .busFault
        case .processExcursion: return .processExcursion
        case .configurationError: return .configurationError
        }
    }
}

extension DiagnosisSeverity {
    public init(settings s: MonitorSettings.Severity) {
        switch s {
        case .minor: self = .minor
        case .major: self = .major
        case .safety: self = .safety
        }
    }

    public var settingsName: MonitorSettings.Severity {
        switch self {
        case .minor: return .minor
        case .major: return .major
        case .safety: return .safety
        }
    }
}

extension InterventionDecision {
    public init(settings d: MonitorSettings.Decision) {
        switch d {
        case .automaticRepair: self = .automaticRepair
        case .operatorIntervention: self = .operatorIntervention
        case .operatorInterventionAndSafeOutputs: self = .operatorInterventionAndSafeOutputs
        }
    }

    public var settingsName: MonitorSettings.Decision {
        switch self {
        case .automaticRepair: return .automaticRepair
        case .operatorIntervention: return .operatorIntervention
        case .operatorInterventionAndSafeOutputs: return .operatorInterventionAndSafeOutputs
        }
    }
}

extension FindingCategory {
    public init(settings c: MonitorSettings.FindingCategory) {
        switch c {
        case .latency: self = .latency
        case .accuracy: self = .accuracy
        case .communication: self = .communication
        case .multivariate: self = .multivariate
        }
    }

    public var settingsName: MonitorSettings.FindingCategory {
        switch self {
        case .latency: return .latency
        case .accuracy: return .accuracy
        case .communication: return .communication
        case .multivariate: return .multivariate
        }
    }
}

extension FindingKind {
    public init(settings k: MonitorSettings.FindingKind) {
        switch k {
        case .outOfRange: self = .outOfRange
        case .stuck: self = .stuck
        case .rateOfChange: self = .rateOfChange
        case .spike: self = .spike
        case .noise: self = .noise
        case .drift: self = .drift
        case .dropout: self = .dropout
        case .latency: self = .latency
        case .disagreement: self = .disagreement
        case .deviceTimeouts: self = .deviceTimeouts
        case .deviceExceptions: self = .deviceExceptions
        case .deviceCRCErrors: self = .deviceCRCErrors
        case .deviceDisconnected: self = .deviceDisconnected
        case .deviceLatencyTrend: self = .deviceLatencyTrend
        case .multivariateT2: self = .multivariateT2
        case .multivariateSPE: self = .multivariateSPE
        }
    }

    public var settingsName: MonitorSettings.FindingKind {
        switch self {
        case .outOfRange: return .outOfRange
        case .stuck: return .stuck
        case .rateOfChange: return .rateOfChange
        case .spike: return .spike
        case .noise: return .noise
        case .drift: return .drift
        case .dropout: return .dropout
        case .latency: return .latency
        case .disagreement: return .disagreement
        case .deviceTimeouts: return .deviceTimeouts
        case .deviceExceptions: return .deviceExceptions
        case .deviceCRCErrors: return .deviceCRCErrors
        case .deviceDisconnected: return .deviceDisconnected
        case .deviceLatencyTrend: return .deviceLatencyTrend
        case .multivariateT2: return .multivariateT2
        case .multivariateSPE: return .multivariateSPE
        }
    }
}

extension EscalationReason {
    public init(settings r: MonitorSettings.Reason) {
        switch r {
        case .safetyLimit: self = .safetyLimit
        case .policyViolation: self = .policyViolation
        case .modelError: self = .modelError
        case .repairFailed: self = .repairFailed
        case .noHealthySource: self = .noHealthySource
        case .configurationError: self = .configurationError
        case .unresolvedDisagreement: self = .unresolvedDisagreement
        }
    }

    /// The file's name; nil for `interventionPolicy`, which a file cannot set.
    public var settingsName: MonitorSettings.Reason? {
        switch self {
        case .safetyLimit: return .safetyLimit
        case .policyViolation: return .policyViolation
        case .modelError: return .modelError
        case .repairFailed: return .repairFailed
        case .noHealthySource: return .noHealthySource
        case .configurationError: return .configurationError
        case .unresolvedDisagreement: return .unresolvedDisagreement
        case .interventionPolicy: return nil
        }
    }
}
