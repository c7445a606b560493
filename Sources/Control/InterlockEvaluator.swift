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
    /// With `.trip`: seconds of plant time the subject may stay unusable before the limit trips;
    /// until then it keeps its last condition (the usual "bad PV" delay). 0: trips at once.
    public var badInputDelaySeconds: Double

    /// `onBadQuality` defaults to `.trip` for interlocks and `.hold` otherwise.
    public init(subject: Int, low: Double? = nil, high: Double? = nil, severity: LimitSeverity,
                clearDeadband: Double = 0, onBadQuality: BadQualityAction? = nil, badInputDelaySeconds: Double = 0) {
        self.subject = subject
        self.low = low
        self.high = high
        self.severity = severity
        self.clearDeadband = max(0, clearDeadband.isFinite ? clearDeadband : 0)
        self.onBadQuality = onBadQuality ?? (severity == .interlock ? .trip : .hold)
        self.badInputDelaySeconds = badInputDelaySeconds.isFinite ? max(0, badInputDelaySeconds) : 0
    }
}

/// Evaluates limits each cycle. A limit is crossed when its subject is strictly below `low` or above `high`
/// (or, with `onBadQuality: .trip`, unusable), and clears when the value is back inside by `clearDeadband`.
/// Interlocks are reported as tripped; warnings and alarms as crossings only, never as safe-state triggers.
public struct InterlockEvaluator: Sendable {
    public let rules: [LimitRule]
    /// The condition of each limit after the last `evaluate`, indexed like `rules`.
    public private(set) var conditions: [LimitCondition]
    /// Seconds each subject has been unusable in a row.
    private var badSeconds: [Double]

    public init(rules: [LimitRule]) {
        self.rules = rules
        conditions = Array(repeating: .normal, count: rules.count)
        badSeconds = Array(repeating: 0, count: rules.count)
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

    /// One cycle of `dtSeconds`: `values[rule.subject]` for each rule (a missing index counts as
    /// unusable). Appends a transition for every limit whose condition changed between normal and crossed.
    public mutating func evaluate(_ values: UnsafeBufferPointer<Reading>, dtSeconds: Double = 0, transitions: inout TransitionBuffer) {
        for i in rules.indices {
            let rule = rules[i]
            let reading = rule.subject >= 0 && rule.subject < values.count ? values[rule.subject] : Reading.unread
            let previous = conditions[i]
            badSeconds[i] = isUsable(reading) ? 0 : badSeconds[i] + max(0, dtSeconds)
            let next = condition(rule, reading, previous: previous, badSeconds: badSeconds[i])
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
    public mutating func evaluate(_ values: [Reading], dtSeconds: Double = 0, transitions: inout TransitionBuffer) {
        values.withUnsafeBufferPointer { evaluate($0, dtSeconds: dtSeconds, transitions: &transitions) }
    }

    private func condition(_ rule: LimitRule, _ reading: Reading, previous: LimitCondition, badSeconds: Double) -> LimitCondition {
        guard isUsable(reading) else {
            // The delay counts whole cycles: a 1.5 s delay at 20 ms trips on the 75th bad cycle.
            let delayed = rule.badInputDelaySeconds > 0 && badSeconds < rule.badInputDelaySeconds - 1e-9
            return rule.onBadQuality == .trip && !delayed ? .badQuality : previous
        }
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
