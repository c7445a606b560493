import VigilCore

/// What the model watch is set to: how far a deployed version's live agreement may fall, over how
/// many outcomes, and how many confident contradictions of confirmed hard faults it may make.
public struct ModelWatchSettings: Sendable, Hashable {
    /// Agreement (a fraction) a version may lose below its baseline before it is judged to have dropped.
    public var margin: Double
    /// Outcomes in the running window.
    public var window: Int
    /// Outcomes in the window before a version is judged (at most `window`).
    public var minOutcomes: Int
    /// Confident "healthy" verdicts on confirmed hard faults before `model_error`.
    public var contradictions: Int
    /// The margin (int8 steps) from which a healthy verdict on a hard fault is a contradiction.
    public var contradictionMargin: Int

    public init(margin: Double = 0.15, window: Int = 50, minOutcomes: Int = 20, contradictions: Int = 3, contradictionMargin: Int = 32) {
        self.margin = margin
        self.window = max(window, 1)
        self.minOutcomes = min(max(minOutcomes, 1), self.window)
        self.contradictions = max(contradictions, 1)
        self.contradictionMargin = contradictionMargin
    }

    /// The plant file's `monitor.policy_model.watch_*` settings.
    public init(_ s: MonitorSettings.PolicyModel) {
        self.init(margin: s.watchMargin, window: s.watchWindow, minOutcomes: s.watchMinOutcomes,
                  contradictions: s.watchContradictions, contradictionMargin: s.watchContradictionMargin)
    }
}

/// What the plant later proved about an event the model had an opinion on.
public struct ModelOutcome: Sendable, Hashable {
    public enum Proof: String, Sendable, Hashable, CaseIterable {
        /// An operator confirmed or corrected the diagnosis.
        case operatorVerdict = "operator_verdict"
        /// The monitor confirmed a hard fault on the sensor (faulty, quarantined).
        case confirmedFault = "confirmed_fault"
        /// A repair of the sensor was verified: there was a fault to repair.
        case verifiedRepair = "verified_repair"
        /// An operator called the event (an escalation, a detection) a false alarm.
        case falseAlarm = "false_alarm"
    }

    /// The model version that gave the opinion.
    public var version: Int
    public var proof: Proof
    /// The model's class then.
    public var modelSaid: String
    /// The class the plant proved; nil: a fault of any kind (anything but `healthy`).
    public var truth: String?
    /// The model's diagnosis margin then (int8 steps), if known.
    public var margin: Int?

    public init(version: Int, proof: Proof, modelSaid: String, truth: String?, margin: Int?) {
        self.version = version
        self.proof = proof
        self.modelSaid = modelSaid
        self.truth = truth
        self.margin = margin
    }

    public static let healthyClass = "healthy"

    /// Whether the model said what the plant proved.
    public var agrees: Bool { truth.map { $0 == modelSaid } ?? (modelSaid != Self.healthyClass) }
}

/// Where a version stands with the watch.
public enum ModelWatchState: String, Sendable, Hashable, CaseIterable {
    /// Deployed (or once deployed) and judged on every outcome.
    case watching
    /// Rolled back automatically after a drop: its outcomes are still recorded, but it is not judged again.
    case rolledBack = "rolled_back"
    /// Raised to the operator: the cycle runs on the rules alone until another version is deployed.
    case modelError = "model_error"
}

/// One version's live figures: the running window of agreements, totals, baseline and state.
public struct ModelWatchFigures: Sendable, Hashable {
    public var version: Int
    /// The lineage the version belongs to (e.g. `site` or a fleet learner's lineage name); nil: unknown.
    public var lineage: String?
    /// The fleet learner's version number, for a version that came from the fleet.
    public var fleetVersion: Int?
    /// The agreement the window is compared with; nil until known.
    public var baseline: Double?
    /// Where the baseline came from (`parent`, `first window`, `validation`).
    public var baselineSource: String?
    /// The newest outcomes' agreements, oldest first (at most the window).
    public var recent: [Bool]
    public var outcomes: Int
    public var agreed: Int
    /// Confident healthy verdicts on confirmed hard faults.
    public var contradictions: Int
    public var state: ModelWatchState
    /// Deployed by an automatic rollback: a drop of this version is a model error.
    public var afterRollback: Bool
    /// Why the state changed last (the figures then), empty while watching.
    public var reason: String

    public init(version: Int, lineage: String? = nil, fleetVersion: Int? = nil, baseline: Double? = nil, baselineSource: String? = nil,
                recent: [Bool] = [], outcomes: Int = 0, agreed: Int = 0, contradictions: Int = 0, state: ModelWatchState = .watching,
                afterRollback: Bool = false, reason: String = "") {
        self.version = version
        self.lineage = lineage
        self.fleetVersion = fleetVersion
        self.baseline = baseline
        self.baselineSource = baselineSource
        self.recent = recent
        self.outcomes = outcomes
        self.agreed = agreed
        self.contradictions = contradictions
        self.state = state
        self.afterRollback = afterRollback
        self.reason = reason
    }

    /// Agreement over the window (nil: no outcome yet).
    public var windowAgreement: Double? {
        recent.isEmpty ? nil : Double(recent.lazy.filter { $0 }.count) / Double(recent.count)
    }

    /// One line: outcomes, agreement, baseline, state.
    public var summary: String {
        func pct(_ v: Double?) -> String { v.map(percent) ?? "-" }
        return "v\(version): \(recent.count) outcomes in window (\(outcomes) in all), agreement \(pct(windowAgreement)), "
            + "baseline \(pct(baseline))\(baselineSource.map { " (\($0))" } ?? ""), \(state.rawValue)"
            + (contradictions > 0 ? ", \(contradictions) contradicted hard faults" : "")
    }
}

/// Why a version goes to the operator.
public enum ModelErrorCause: Sendable, Hashable, CustomStringConvertible {
    /// It called confirmed hard faults healthy with a confident margin this many times.
    case contradictsHardFaults(count: Int)
    /// It dropped although an automatic rollback had just deployed it.
    case dropAfterRollback(agreement: Double, baseline: Double)
    /// It dropped and has no earlier version to roll back to.
    case dropWithoutPrevious(agreement: Double, baseline: Double)

    public var description: String {
        switch self {
        case .contradictsHardFaults(let n):
            return "it called \(n) confirmed hard faults healthy with a confident margin"
        case .dropAfterRollback(let a, let b):
            return "its live agreement fell to \(percent(a)) (baseline \(percent(b))) after an automatic rollback"
        case .dropWithoutPrevious(let a, let b):
            return "its live agreement fell to \(percent(a)) (baseline \(percent(b))) and there is no earlier version to roll back to"
        }
    }
}

/// What the watch decided on an outcome.
public enum ModelWatchDecision: Sendable, Hashable {
    /// Deploy `to` in place of `from`; `figures` are `from`'s at the decision.
    case rollback(from: Int, to: Int, figures: ModelWatchFigures)
    /// Raise `model_error` and run on the rules alone.
    case modelError(version: Int, cause: ModelErrorCause, figures: ModelWatchFigures)
}

/// Each model version's live agreement with what the plant later proved, and the decisions it
/// calls for: a drop beyond the margin rolls the deployed version back to its previous one; a
/// confident contradiction of confirmed hard faults (`contradictions` times), or a drop of a version
/// an automatic rollback deployed (or of one with nothing to roll back to), is a model error.
/// A decision is taken once per version: its state then sticks (no flapping) until another version
/// is deployed. Pure: no clock, no I/O.
public struct ModelWatch: Sendable {
    public let settings: ModelWatchSettings
    public private(set) var figures: [Int: ModelWatchFigures]
    /// The version deployed now and the one a drop rolls back to (its parent), if any.
    public private(set) var deployed: Int?
    public private(set) var previous: Int?

    public init(settings: ModelWatchSettings = ModelWatchSettings(), figures: [ModelWatchFigures] = []) {
        self.settings = settings
        self.figures = Dictionary(figures.map { ($0.version, $0) }, uniquingKeysWith: { $1 })
    }

    /// Tells the watch which version is deployed and which one a drop would roll back to.
    /// `baseline` (e.g. the parent's live agreement) is taken when the version has none yet;
    /// `byRollback` marks a version the watch's own rollback deployed.
    public mutating func deploy(version: Int, previous: Int?, baseline: (value: Double, source: String)? = nil,
                                lineage: String? = nil, fleetVersion: Int? = nil, byRollback: Bool = false) {
        deployed = version
        self.previous = previous
        var f = figures[version] ?? ModelWatchFigures(version: version)
        if f.baseline == nil, let baseline {
            f.baseline = baseline.value
            f.baselineSource = baseline.source
        }
        if let lineage { f.lineage = lineage }
        if let fleetVersion { f.fleetVersion = fleetVersion }
        if byRollback { f.afterRollback = true }
        figures[version] = f
    }

    /// The live agreement of a version, once it has enough outcomes in its window (nil before).
    public func judgedAgreement(of version: Int) -> Double? {
        guard let f = figures[version], f.recent.count >= settings.minOutcomes else { return nil }
        return f.windowAgreement
    }

    /// Counts one outcome for the version that gave the opinion and judges the deployed version.
    public mutating func record(_ outcome: ModelOutcome) -> ModelWatchDecision? {
        var f = figures[outcome.version] ?? ModelWatchFigures(version: outcome.version)
        let agrees = outcome.agrees
        f.recent.append(agrees)
        if f.recent.count > settings.window { f.recent.removeFirst(f.recent.count - settings.window) }
        f.outcomes += 1
        if agrees { f.agreed += 1 }
        if outcome.proof == .confirmedFault, outcome.modelSaid == ModelOutcome.healthyClass,
           (outcome.margin ?? 0) >= settings.contradictionMargin {
            f.contradictions += 1
        }
        defer { figures[f.version] = f }
        guard outcome.version == deployed, f.state == .watching else { return nil }

        if f.contradictions >= settings.contradictions {
            let cause = ModelErrorCause.contradictsHardFaults(count: f.contradictions)
            f.state = .modelError
            f.reason = "model_error: \(cause)"
            return .modelError(version: f.version, cause: cause, figures: f)
        }
        guard f.recent.count >= settings.minOutcomes, let rate = f.windowAgreement else { return nil }
        guard let baseline = f.baseline else {
            f.baseline = rate
            f.baselineSource = "first window"
            return nil
        }
        guard rate < baseline - settings.margin else { return nil }
        if f.afterRollback || previous == nil {
            let cause: ModelErrorCause = f.afterRollback ? .dropAfterRollback(agreement: rate, baseline: baseline)
                                                          : .dropWithoutPrevious(agreement: rate, baseline: baseline)
            f.state = .modelError
            f.reason = "model_error: \(cause)"
            return .modelError(version: f.version, cause: cause, figures: f)
        }
        let target = previous!
        f.state = .rolledBack
        let points = Int((settings.margin * 100).rounded())
        f.reason = "rolled back to v\(target): agreement \(percent(rate)) over \(f.recent.count) outcomes, baseline \(percent(baseline)), "
            + "margin \(points) points"
        return .rollback(from: f.version, to: target, figures: f)
    }

    /// Records the lineage a version belongs to (a fleet learner's version number).
    public mutating func setLineage(of version: Int, lineage: String?, fleetVersion: Int?) {
        var f = figures[version] ?? ModelWatchFigures(version: version)
        f.lineage = lineage
        f.fleetVersion = fleetVersion
        figures[version] = f
    }

    /// Sets a version's state (the operator deployed it again, or a rollback could not be carried
    /// out); `clearWindow` starts its window afresh (its totals stay).
    public mutating func setState(_ state: ModelWatchState, of version: Int, reason: String = "", clearWindow: Bool = false) {
        var f = figures[version] ?? ModelWatchFigures(version: version)
        f.state = state
        f.reason = reason
        if clearWindow {
            f.recent = []
            f.contradictions = 0
            f.afterRollback = false
        }
        figures[version] = f
    }
}

/// A fraction as a whole percentage, e.g. `85%`.
func percent(_ v: Double) -> String { v.isFinite ? "\(Int((v * 100).rounded()))%" : "-" }
