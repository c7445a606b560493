import Foundation
import Synchronization
import Monitor
import Policy
import Kernel
import Journal

/// What the model watch did, for the log and the console.
public enum ModelWatchNotice: Sendable, Hashable {
    /// A drop beyond the margin: `to` deployed in place of `from` (journalled with the figures).
    case rolledBack(from: Int, to: Int, figures: ModelWatchFigures)
    /// `model_error` raised: the cycle runs on the rules alone.
    case modelError(version: Int, cause: String, figures: ModelWatchFigures)
    /// Another version was deployed after a model error: the model is back on the cycle.
    case resumed(version: Int)

    public var text: String {
        switch self {
        case .rolledBack(let from, let to, let f):
            return "policy model v\(from) rolled back to v\(to) automatically: \(f.summary)"
        case .modelError(let v, let cause, let f):
            return "model_error: policy model v\(v) \(cause); the cycle runs on the rules alone (\(f.summary)). "
                + "Deploy another version ('model rollback VERSION', engineer) to put a model back"
        case .resumed(let v):
            return "policy model v\(v) deployed after a model error: the model is back on the cycle"
        }
    }
}

/// The runtime side of `ModelWatch`, on the policy service's thread: turns what the journal says the
/// plant proved (operator verdicts, confirmed hard faults, verified repairs, false alarms) into
/// outcomes for the version whose opinion they judge, acts on the decisions (a rollback through the
/// registry, journalled with the figures; a model error that takes the model off the cycle) and
/// keeps every figure in the journal so a restart carries on where it left off.
final class ModelWatchKeeper: @unchecked Sendable {
    private let journal: Journal
    private let store: ModelStore
    private let schema: ModelSchema
    private let sensorIDs: [String]
    private let wall: @Sendable () -> Int64
    private let withdraw: @Sendable () -> Void
    private let reinstate: @Sendable () -> Void
    /// Told every rollback, model error and resumption (service thread).
    var notify: (@Sendable (ModelWatchNotice) -> Void)?
    /// The lineage label new versions get (a fleet learner's versions say otherwise).
    let lineage: String
    private let state: Mutex<ModelWatch>
    private var eventCursor: Int64 = 0
    private var feedbackCursor: Int64 = 0
    /// A version the watch deployed itself, so the registry watch does not take it for an operator's.
    private var deployedByWatch: Int?
    static let eventBatch = 500
    /// The version taken off the cycle by a model error (nil: none).
    private var withdrawnVersion: Int?
    /// How far back a plant proof looks for the model's opinion on the sensor.
    static let opinionMaxAge: UInt64 = 600_000_000_000
    /// Opinion recorded up to this long after a proof's plant time still counts (the samples around an event).
    static let opinionSlack: UInt64 = 200_000_000

    init(journal: Journal, store: ModelStore, schema: ModelSchema, sensorIDs: [String], settings: ModelWatchSettings,
         lineage: String = "site", wall: @escaping @Sendable () -> Int64,
         withdraw: @escaping @Sendable () -> Void, reinstate: @escaping @Sendable () -> Void) {
        self.journal = journal
        self.store = store
        self.schema = schema
        self.sensorIDs = sensorIDs
        self.wall = wall
        self.withdraw = withdraw
        self.reinstate = reinstate
        self.lineage = lineage
        state = Mutex(ModelWatch(settings: settings, figures: (try? journal.modelWatchFigures()) ?? []))
    }

    /// Every version's figures (any thread).
    var figures: [ModelWatchFigures] { state.withLock { $0.figures.values.sorted { $0.version < $1.version } } }

    /// Records the lineage of a version (a fleet version's number), durably (any thread).
    func setLineage(version: Int, lineage: String?, fleetVersion: Int?) {
        let f: ModelWatchFigures = state.withLock { w in
            w.setLineage(of: version, lineage: lineage, fleetVersion: fleetVersion)
            return w.figures[version]!
        }
        try? journal.recordModelWatch([f], wallNanoseconds: wall())
    }

    /// Reads the cursors (a first start begins at the journal's end) and takes up the deployed
    /// version; one left in `model_error` stays off the cycle and is raised again.
    func start(deployed version: Int) {
        eventCursor = (try? journal.modelWatchCursor("event")) ?? ((try? journal.lastEventID()) ?? 0)
        feedbackCursor = (try? journal.modelWatchCursor("feedback")) ?? ((try? journal.feedback(limit: 1).first?.id) ?? 0)
        let history = (try? journal.modelHistory()) ?? []
        take(version: version, history: history, byWatch: false, atStart: true)
    }

    /// The registry deployed `version` (an operator's rollback, a learner's update, or the watch's own).
    func deploymentChanged(to version: Int) {
        let byWatch = deployedByWatch == version
        deployedByWatch = nil
        take(version: version, history: (try? journal.modelHistory()) ?? [], byWatch: byWatch, atStart: false)
    }

    private func take(version: Int, history: [ModelVersion], byWatch: Bool, atStart: Bool) {
        let parent = history.first { $0.version == version }?.parentVersion
        let figures: ModelWatchFigures = state.withLock { w in
            // The parent's live agreement is the bar, unless the parent itself failed the watch.
            let baseline = parent.flatMap { p in
                w.figures[p]?.state == .watching ? w.judgedAgreement(of: p).map { ($0, "parent v\(p)") } : nil
            }
            let before = w.figures[version]
            w.deploy(version: version, previous: parent, baseline: baseline, lineage: before?.lineage == nil ? lineage : nil,
                     byRollback: byWatch)
            if !byWatch && !atStart, let s = before?.state, s != .watching {
                // An operator (or the learner) chose this version again: it is watched afresh.
                w.setState(.watching, of: version, clearWindow: true)
            }
            return w.figures[version]!
        }
        try? journal.recordModelWatch([figures], wallNanoseconds: wall())
        if figures.state == .modelError {
            withdrawnVersion = version
            withdraw()
            let prefix = "model_error: "
            let cause = figures.reason.hasPrefix(prefix) ? String(figures.reason.dropFirst(prefix.count)) : figures.reason
            notify?(.modelError(version: version, cause: cause, figures: figures))
        } else if withdrawnVersion != nil {
            withdrawnVersion = nil
            reinstate()
            notify?(.resumed(version: version))
        }
    }

    /// Counts what the plant proved since the last scan: operator verdicts, and confirmed faults and
    /// verified repairs up to event `through` (the model's opinions before it are recorded). Returns
    /// true when it deployed another version (a rollback).
    @discardableResult
    func scan(through: Int64) -> Bool {
        var rolledBack = false
        if let feedback = try? journal.feedback(after: feedbackCursor) {
            var done = feedbackCursor
            // A verdict is taken only on an event whose opinion is recorded (PolicyLearning refuses others).
            for record in feedback {
                if let eventID = record.value.eventID, let outcome = operatorOutcome(record.value, event: eventID) {
                    rolledBack = count(outcome, event: eventID) || rolledBack
                }
                done = record.id
            }
            if done != feedbackCursor, (try? journal.setModelWatchCursor("feedback", done)) != nil { feedbackCursor = done }
        }
        if eventCursor < through, let events = try? journal.events(after: eventCursor, kinds: [.healthChanged, .failover, .repair], limit: Self.eventBatch) {
            var done = eventCursor
            // Every proof up to `through` is read when the query came back short or went past it.
            var complete = events.count < Self.eventBatch
            for e in events {
                guard e.id <= through else { complete = true; break }
                if let outcome = plantOutcome(e) { rolledBack = count(outcome.outcome, event: outcome.event) || rolledBack }
                done = e.id
            }
            if complete { done = max(done, through) }
            if done != eventCursor, (try? journal.setModelWatchCursor("event", done)) != nil { eventCursor = done }
        }
        return rolledBack
    }

    /// An operator's verdict on an event the model had an opinion on.
    private func operatorOutcome(_ f: OperatorFeedback, event id: Int64) -> ModelOutcome? {
        guard let features = try? journal.eventFeatures(id), let version = features.modelVersion, let said = features.diagnosis else { return nil }
        let truth: String
        switch f.verdict {
        case .falseAlarm: truth = ModelOutcome.healthyClass
        case .correctedClass: truth = f.correctedClass ?? said
        case .confirmed:
            let event = try? journal.event(id)
            truth = event.flatMap { PolicyLearning.diagnosisClass(of: $0, schema: schema) } ?? said
        }
        return ModelOutcome(version: version, proof: f.verdict == .falseAlarm ? .falseAlarm : .operatorVerdict, modelSaid: said,
                            truth: truth, margin: features.margin)
    }

    /// A hard fault the monitor confirmed on a sensor (faulty, quarantined, failed over from), or a
    /// verified repair of one: the model's latest opinion on that sensor before it is judged against
    /// "a fault". A failover and the health change behind it judge the same opinion once.
    private func plantOutcome(_ e: StoredEvent) -> (outcome: ModelOutcome, event: Int64)? {
        let sensor: String
        let proof: ModelOutcome.Proof
        switch e.kind {
        case .healthChanged:
            guard e.code == HealthState.faulty.rawValue || e.code == HealthState.quarantined.rawValue,
                  let s = e.subject, sensorIDs.contains(s) else { return nil }
            (sensor, proof) = (s, .confirmedFault)
        case .failover:
            // The monitor's own failover leaves a member it found faulty (`code`: its index).
            guard e.value2 == 0, e.code >= 0, Int(e.code) < sensorIDs.count else { return nil }
            (sensor, proof) = (sensorIDs[Int(e.code)], .confirmedFault)
        case .repair:
            guard e.value == Double(RepairPhase.verified.rawValue), e.detail == "sensor", let s = e.subject, sensorIDs.contains(s) else { return nil }
            (sensor, proof) = (s, .verifiedRepair)
        default: return nil
        }
        guard let features = try? journal.latestEventFeatures(sensor: sensor, atOrBefore: e.monotonicNanoseconds &+ Self.opinionSlack,
                                                              maxAge: Self.opinionMaxAge),
              let version = features.modelVersion, let said = features.diagnosis else { return nil }
        return (ModelOutcome(version: version, proof: proof, modelSaid: said, truth: nil, margin: features.margin), features.eventID)
    }

    /// Counts an outcome once (per event and proof) and acts on the decision. True after a rollback.
    private func count(_ outcome: ModelOutcome, event: Int64) -> Bool {
        let now = wall()
        guard (try? journal.recordModelOutcome(outcome, eventID: event, wallNanoseconds: now)) == true else { return false }
        let (decision, figures) = state.withLock { w in (w.record(outcome), w.figures[outcome.version]!) }
        guard let decision else {
            try? journal.recordModelWatch([figures], wallNanoseconds: now)
            return false
        }
        switch decision {
        case .rollback(let from, let to, let f):
            let audit = AuditEntry(wallNanoseconds: now, source: "vigil", command: "(model watch)",
                                   result: "v\(from) rolled back to v\(to): \(f.summary)", role: "system")
            // The rollback (with its audit entry) first: a crash before the figures are stored leaves
            // the earlier version deployed and the dropped one merely unjudged, never the reverse.
            do {
                try store.rollback(to: to, audit: audit)
                try? journal.recordModelWatch([f], wallNanoseconds: now)
            } catch {
                // The earlier version does not deploy (damaged, unknown): the rules alone are left.
                let cause = "dropped (\(f.summary)) and its earlier version v\(to) cannot be deployed: \(error)"
                let failed: ModelWatchFigures = state.withLock { w in
                    w.setState(.modelError, of: from, reason: "model_error: \(cause)")
                    return w.figures[from]!
                }
                raise(version: from, cause: cause, figures: failed, now: now)
                return false
            }
            deployedByWatch = to
            notify?(.rolledBack(from: from, to: to, figures: f))
            return true
        case .modelError(let version, let cause, let f):
            raise(version: version, cause: "\(cause)", figures: f, now: now)
            return false
        }
    }

    private func raise(version: Int, cause: String, figures f: ModelWatchFigures, now: Int64) {
        let audit = AuditEntry(wallNanoseconds: now, source: "vigil", command: "(model watch)",
                               result: "model_error: v\(version) \(cause); rules only", role: "system")
        try? journal.recordModelWatch([f], wallNanoseconds: now, audit: audit)
        withdrawnVersion = version
        withdraw()
        notify?(.modelError(version: version, cause: cause, figures: f))
    }
}
