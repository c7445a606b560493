import VigilCore

/// One outcome the trust score counts.
public enum TrustOutcome: UInt8, Sendable, Hashable, CaseIterable {
    /// An automatic repair that restored good values.
    case repairSucceeded = 1
    /// An automatic repair that did not (it is usually followed by an escalation, recorded separately).
    case repairFailed
    /// A situation handed to a human (any escalation, whatever the policy decided).
    case humanIntervention
}

/// The score and the figures it is made of.
public struct TrustReport: Sendable, Hashable {
    /// `repairWeight × repairSuccessRate + interventionWeight × (1 − humanInterventionRate)`, 0…1;
    /// nil when the window holds no outcome at all (no evidence either way).
    public var score: Double?
    /// Succeeded / (succeeded + failed) in the window; nil when the window holds no repair.
    public var repairSuccessRate: Double?
    /// Interventions / outcomes in the window; nil when the window is empty.
    public var humanInterventionRate: Double?
    public var repairsSucceeded: Int
    public var repairsFailed: Int
    public var humanInterventions: Int
    /// Outcomes in the window (at most the window's capacity).
    public var outcomes: Int
}

/// How far the controller's own repairs can be trusted, over the last N outcomes.
///
/// The window counts outcomes, not time: a quiet week does not wash out last month's failures,
/// a fault storm does not fill the score with one minute's evidence beyond N entries, and the
/// figure is deterministic without a clock. One `TrustScore` per controller.
///
/// Edge cases: an empty window has no score (`nil`). A window with interventions but no repairs
/// ("all escalations") counts the repair success rate as 0 in the score (the controller healed
/// nothing on its own), so the score is 0; `repairSuccessRate` itself stays nil in the report.
/// `record` and `report` do not allocate.
public struct TrustScore: Sendable {
    public let windowCapacity: Int
    public let repairWeight: Double
    public let interventionWeight: Double

    private var ring: [TrustOutcome]
    private var head = 0
    private var count = 0
    private var succeeded = 0
    private var failed = 0
    private var interventions = 0

    /// A score over the last `windowCapacity` outcomes, weighted 0.7 (repairs) / 0.3 (interventions) by default.
    public init(windowCapacity: Int = 100, repairWeight: Double = 0.7, interventionWeight: Double = 0.3) {
        self.windowCapacity = max(1, windowCapacity)
        self.repairWeight = repairWeight
        self.interventionWeight = interventionWeight
        ring = Array(repeating: .repairSucceeded, count: max(1, windowCapacity))
    }

    /// Adds an outcome; the oldest leaves the window when it is full.
    public mutating func record(_ outcome: TrustOutcome) {
        if count == windowCapacity {
            adjust(ring[head], by: -1)
        } else {
            count += 1
        }
        ring[head] = outcome
        adjust(outcome, by: 1)
        head += 1
        if head == windowCapacity { head = 0 }
    }

    /// Score and components over the current window.
    public func report() -> TrustReport {
        let repairs = succeeded + failed
        let repairRate: Double? = repairs > 0 ? Double(succeeded) / Double(repairs) : nil
        let interventionRate: Double? = count > 0 ? Double(interventions) / Double(count) : nil
        var score: Double? = nil
        if let interventionRate {
            score = repairWeight * (repairRate ?? 0) + interventionWeight * (1 - interventionRate)
        }
        return TrustReport(score: score, repairSuccessRate: repairRate, humanInterventionRate: interventionRate,
                           repairsSucceeded: succeeded, repairsFailed: failed, humanInterventions: interventions,
                           outcomes: count)
    }

    private mutating func adjust(_ o: TrustOutcome, by d: Int) {
        switch o {
        case .repairSucceeded: succeeded += d
        case .repairFailed: failed += d
        case .humanIntervention: interventions += d
        }
    }
}
