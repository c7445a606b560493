import VigilCore

/// Two-position control with hysteresis (`OnOffLaw`). Between the thresholds it keeps its state;
/// on an unusable input it holds its last output and says so in `isHolding`.
public struct OnOffController: Sendable, Hashable {
    public let law: OnOffLaw
    /// Whether the output is at `onValue`.
    public private(set) var isOn: Bool
    /// True while the last input was not good: the output is held, not computed.
    public private(set) var isHolding: Bool

    /// `startsOn` is the state before the first good input (usually: the output's initial value is `onValue`).
    public init(law: OnOffLaw, startsOn: Bool = false) {
        self.law = law
        self.isOn = startsOn
        self.isHolding = false
    }

    /// The value this controller commands now.
    public var output: Double { isOn ? law.onValue : law.offValue }

    /// One cycle: updates the state from `reading` and returns the commanded value.
    /// With equal thresholds (the config refuses them) the off condition wins.
    @discardableResult
    public mutating func step(_ reading: Reading) -> Double {
        guard isUsable(reading) else {
            isHolding = true
            return output
        }
        isHolding = false
        let value = reading.value
        if law.onAt < law.offAt || law.onAt == law.offAt {
            // Filling: on at or below onAt, off at or above offAt.
            if value >= law.offAt { isOn = false } else if value <= law.onAt { isOn = true }
        } else {
            // Cooling: on at or above onAt, off at or below offAt.
            if value <= law.offAt { isOn = false } else if value >= law.onAt { isOn = true }
        }
        return output
    }
}
