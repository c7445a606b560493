import VigilCore

/// Where a limit's subject is relative to the limit.
public enum LimitCondition: Int32, Sendable, Hashable {
    case normal = 0
    /// Below `low`.
    case low
    /// Above `high`.
    case high
    /// The subject has no usable value and the limit is set to trip on that.
    case badQuality
}

/// What a limit does when its subject's value is not usable (quality not `.good`).
public enum BadQualityAction: Sendable, Hashable {
    /// Count as crossed (`LimitCondition.badQuality`): fail-safe, the default for interlocks.
    case trip
    /// Keep the last condition: the default for warnings and alarms, whose sensor faults the monitor reports.
    case hold
}

/// A limit resolved for the cycle: its subject is an index into the values the evaluator is given.
public struct LimitRule: Sendable, Hashable {
    public var subject: Int
    public var low: Double?
    public var high: Double?
    public var severity: LimitSeverity
    /// A crossed limit clears only once the value is back inside by this much (≥ 0), so a value
    /// hovering at the limit does not chatter.
    public var clearDeadband: Double
    public var onBadQuality: BadQualityAction

    /// `onBadQuality` defaults to `.trip` for interlocks and `.hold` otherwise.
    public init(subject: Int, low: Double? = nil, high: Double? = nil, severity: LimitSeverity,
                clearDeadband: Double = 0, onBadQuality: BadQualityAction? = nil) {
        self.subject = subject
        self.low = low
        self.high = high
        self.severity = severity
        self.clearDeadband = max(0, clearDeadband.isFinite ? clearDeadband : 0)
        self.onBadQuality = onBadQuality ?? (severity == .interlock ? .trip : .hold)
    }
}

/// Evaluates limits each cycle. A limit is crossed when its subject is strictly below `low` or above `high`
/// (or, with `onBadQuality: .trip`, unusable), and clears when the value is back inside by `clearDeadband`.
/// Interlocks are reported as tripped; warnings and alarms as crossings only, never as safe-state triggers.
public struct InterlockEvaluator: Sendable {
    public let rules: [LimitRule]
    /// The condition of each limit after the last `evaluate`, indexed like `rules`.
    public private(set) var conditions: [LimitCondition]

    public init(rules: [LimitRule]) {
        self.rules = rules
        conditions = Array(repeating: .normal, count: rules.count)
    }

    /// Whether limit `index` is an interlock that is tripped now.
    public func isTripped(_ index: Int) -> Bool {
        rules[index].severity == .interlock && conditions[index] != .normal
    }

    /// Whether any interlock is tripped now.
    public var anyTripped: Bool {
        for i in rules.indices where isTripped(i) { return true }
        return false
    }

    /// One cycle: `values[rule.subject]` for each rule (a missing index counts as unusable).
    /// Appends a transition for every limit whose condition changed between normal and crossed.
    public mutating func evaluate(_ values: UnsafeBufferPointer<Reading>, transitions: inout TransitionBuffer) {
        for i in rules.indices {
            let rule = rules[i]
            let reading = rule.subject >= 0 && rule.subject < values.count ? values[rule.subject] : Reading.unread
            let previous = conditions[i]
            let next = condition(rule, reading, previous: previous)
            guard next != previous else { continue }
            conditions[i] = next
            let interlock = rule.severity == .interlock
            if previous == .normal {
                transitions.append(ControlTransition(kind: interlock ? .interlockTripped : .limitCrossed,
                                                     subject: Int32(i), code: next.rawValue, value: reading.value))
            } else if next == .normal {
                transitions.append(ControlTransition(kind: interlock ? .interlockCleared : .limitCleared,
                                                     subject: Int32(i), code: previous.rawValue, value: reading.value))
            }
        }
    }

    /// `[Reading]` convenience for tests and callers without a buffer (no allocation).
    public mutating func evaluate(_ values: [Reading], transitions: inout TransitionBuffer) {
        values.withUnsafeBufferPointer { evaluate($0, transitions: &transitions) }
    }

    private func condition(_ rule: LimitRule, _ reading: Reading, previous: LimitCondition) -> LimitCondition {
        guard isUsable(reading) else { return rule.onBadQuality == .trip ? .badQuality : previous }
        let value = reading.value
        if let high = rule.high, value > high { return .high }
        if let low = rule.low, value < low { return .low }
        // Inside the band: a crossed limit clears only past the deadband.
        switch previous {
        case .high: if let high = rule.high, value > high - rule.clearDeadband { return .high }
        case .low: if let low = rule.low, value < low + rule.clearDeadband { return .low }
        case .normal, .badQuality: break
        }
        return .normal
    }
}
