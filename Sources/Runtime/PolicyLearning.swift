import Foundation
import VigilCore
import Monitor
import Policy
import Journal

/// Why feedback could not be taken or an update could not run. Whatever is thrown, nothing was
/// stored and the deployed model stays.
public enum PolicyLearningError: Error, Sendable, CustomStringConvertible {
    case learningSet(path: String, String)
    case noSuchEvent(Int64)
    case noFeatures(event: Int64, kind: String)
    case noSamples(sensor: String, from: UInt64, to: UInt64)
    case unknownClass(String, valid: [String])
    case store(ModelStoreError)
    case journal(JournalError)

    public var description: String {
        switch self {
        case .learningSet(let path, let why):
            return "learning set \(path): \(why) (it ships beside the model; regenerate both with `vigil model train --out models/default.vglm`)"
        case .noSuchEvent(let id): return "there is no event \(id) in the journal (the console's `events` lists recent ones)"
        case .noFeatures(let id, let kind):
            return "event \(id) (\(kind)) has no recorded model features: only detections, diagnoses, escalations and model verdicts "
                + "about a sensor, journalled by a controller running the policy model, have them"
        case .noSamples(let sensor, let from, let to):
            return "no feature samples of \(sensor) between \(from / 1_000_000) ms and \(to / 1_000_000) ms (the history keeps the last few minutes)"
        case .unknownClass(let c, let valid): return "\"\(c)\" is not a diagnosis class; one of: \(valid.joined(separator: ", "))"
        case .store(let e): return "\(e)"
        case .journal(let e): return "\(e)"
        }
    }
}

/// The operator's verdict on what Vigil said about a sensor.
public enum FeedbackVerdictInput: Sendable, Hashable {
    /// What was said is right.
    case confirm
    /// There was nothing wrong: the sensor was healthy.
    case falseAlarm
    /// The right diagnosis was this class.
    case correct(String)
}

/// Feedback as the console or `vigil model feedback` gives it.
public struct FeedbackInput: Sendable {
    public var verdict: FeedbackVerdictInput
    /// The model's action on these samples was good or bad (nil: not rated).
    public var rating: ActionRating?
    public var note: String
    public var operatorName: String
    public var wallNanoseconds: Int64

    public init(verdict: FeedbackVerdictInput, rating: ActionRating? = nil, note: String = "", operatorName: String,
                wallNanoseconds: Int64) {
        self.verdict = verdict
        self.rating = rating
        self.note = note
        self.operatorName = operatorName
        self.wallNanoseconds = wallNanoseconds
    }
}

/// What was stored: the feedback id, the labelled samples and how they were filed.
public struct FeedbackReceipt: Sendable, Hashable {
    public var feedbackID: Int64
    public var sensor: String
    public var label: String
    public var samples: Int
    public var bucket: FeedbackSample.Bucket
    /// What the model had said (class), if known.
    public var modelSaid: String?
}

/// What one learner run came to.
public enum PolicyUpdateResult: Sendable {
    /// A new version passed the gate, was stored and deployed; running controllers swap it in at a
    /// cycle boundary.
    case deployed(version: Int, parent: Int, report: GateReport, milliseconds: Double)
    /// The gate refused the candidate; the deployed model stays.
    case rejected(reasons: [String], report: GateReport, milliseconds: Double)
    /// Too many updates in the last hour; the feedback is kept for the next one.
    case rateLimited(nextAllowedWallNanoseconds: Int64)
    /// No stored feedback to learn from.
    case nothingToLearn

    /// One paragraph for an operator.
    public var summary: String {
        switch self {
        case .deployed(let v, let parent, let r, let ms):
            return String(format: "model v%d deployed (from v%d) after %.1f s: the gate passed — corrections learned %d/%d, ratings honoured %d/%d, "
                          + "golden accuracy %.1f %% → %.1f %%, golden action accuracy %.1f %% → %.1f %%",
                          v, parent, ms / 1000, r.correctionsLearned, r.corrections, r.ratingsHonoured, r.ratings,
                          r.goldenBefore.accuracy * 100, r.goldenAfter.accuracy * 100, r.goldenActionBefore * 100, r.goldenActionAfter * 100)
        case .rejected(let reasons, _, let ms):
            return String(format: "update rejected after %.1f s, the deployed model stays: ", ms / 1000) + reasons.joined(separator: "; ")
        case .rateLimited(let next):
            return "update postponed: the hourly limit of model updates is reached; next one at \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(next) / 1e9))) (the feedback is kept)"
        case .nothingToLearn:
            return "no stored feedback to learn from"
        }
    }
}

/// Operator feedback to validated model versions, beside the cycle (never on it): labels the
/// feature samples behind an event or a time window, stores them with the feedback in one durable
/// transaction, then runs the incremental learner over every stored sample with the shipped
/// learning set (replay, golden set, calibration), and deploys a candidate only when the gate
/// passes. Every run is recorded in the journal's `model_update` table. Stateless between calls
/// (everything is in the journal and the model store), so the console in a running controller
/// and `vigil model feedback` in another process share one history; one update runs at a time
/// per process.
public final class PolicyLearning: @unchecked Sendable {
    public let store: ModelStore
    public let learningSet: LearningSet
    public let options: LearnerOptions
    /// Feedback whose model margin is below this many int8 steps is filed as an edge case.
    public let edgeMargin: Int
    private let updating = NSLock()

    public init(store: ModelStore, learningSetPath: String, options: LearnerOptions = LearnerOptions(), edgeMargin: Int = 8) throws(PolicyLearningError) {
        let bytes: [UInt8]
        do { bytes = try DurableFile.read(learningSetPath) } catch { throw .learningSet(path: learningSetPath, "\(error)") }
        do { learningSet = try LearningSetFile.decode(bytes) } catch { throw .learningSet(path: learningSetPath, "\(error)") }
        if let expected = store.expectedFeatures, learningSet.featureNames != expected {
            throw .learningSet(path: learningSetPath, "its features do not match this Vigil's monitor")
        }
        self.store = store
        self.options = options
        self.edgeMargin = edgeMargin
    }

    var journal: Journal { store.journal }

    // MARK: Feedback

    /// Feedback on a journalled event: its recorded feature samples get the operator's label.
    /// Durable before it returns.
    public func recordFeedback(event id: Int64, _ input: FeedbackInput) throws(PolicyLearningError) -> FeedbackReceipt {
        let event: StoredEvent?, features: EventFeatures?
        do {
            event = try journal.event(id)
            features = try journal.eventFeatures(id)
        } catch { throw .journal(error) }
        guard let features else {
            if let event { throw .noFeatures(event: id, kind: event.kindName) }
            throw .noSuchEvent(id)
        }
        let schema = try deployedSchema()
        let said = features.diagnosis
        let eventClass = event.flatMap { Self.diagnosisClass(of: $0, schema: schema) } ?? said
        return try store(samples: features.samples, sensor: features.sensor, eventID: id, modelSaid: said, eventClass: eventClass,
                         modelAction: features.action, margin: features.margin, input)
    }

    /// Feedback on a time window of a sensor, with the samples a running controller's history holds.
    public func recordFeedback(sensor: String, samples: [[Float]], modelSaid: String?, modelAction: String?, margin: Int?,
                               _ input: FeedbackInput) throws(PolicyLearningError) -> FeedbackReceipt {
        try store(samples: samples, sensor: sensor, eventID: nil, modelSaid: modelSaid, eventClass: modelSaid,
                  modelAction: modelAction, margin: margin, input)
    }

    private func store(samples: [[Float]], sensor: String, eventID: Int64?, modelSaid: String?, eventClass: String?,
                       modelAction: String?, margin: Int?, _ input: FeedbackInput) throws(PolicyLearningError) -> FeedbackReceipt {
        let schema = try deployedSchema()
        let label: String
        let verdict: FeedbackVerdict
        var corrected: String?
        switch input.verdict {
        case .confirm:
            label = eventClass ?? "healthy"
            verdict = .confirmed
        case .falseAlarm:
            label = "healthy"
            verdict = .falseAlarm
        case .correct(let c):
            guard schema.classes.contains(c) else { throw .unknownClass(c, valid: schema.classes) }
            label = c
            verdict = .correctedClass
            corrected = c
        }
        // The model was right (success), wrong (failure: the label is the correction), or unsure
        // (edge case: a small margin between its top two classes).
        var bucket: FeedbackSample.Bucket = modelSaid == nil || modelSaid == label ? .success : .failure
        if bucket == .success, let margin, margin < edgeMargin { bucket = .edgeCase }
        let reward: Double? = input.rating.map { $0 == .good ? 1 : -1 }
        let labelled = samples.map { FeedbackSample(features: $0, label: label, action: input.rating == nil ? nil : modelAction,
                                                     reward: reward, bucket: bucket) }
        let feedback = OperatorFeedback(wallNanoseconds: input.wallNanoseconds, operatorName: input.operatorName, subject: sensor,
                                        eventID: eventID, verdict: verdict, correctedClass: corrected, actionRating: input.rating,
                                        note: input.note)
        let id: Int64
        do { id = try journal.recordFeedback(feedback, samples: labelled) } catch { throw .journal(error) }
        return FeedbackReceipt(feedbackID: id, sensor: sensor, label: label, samples: labelled.count, bucket: bucket, modelSaid: modelSaid)
    }

    private func deployedSchema() throws(PolicyLearningError) -> ModelSchema {
        do { return try store.loadDeployed().model.schema } catch { throw .store(error) }
    }

    /// The diagnosis class an event stands for: the model's verdict, or the class of the rule's
    /// finding (a detection's kind, a diagnosis's evidence). Nil when the event names none.
    static func diagnosisClass(of e: StoredEvent, schema: ModelSchema) -> String? {
        let kind: FindingKind?
        switch e.kind {
        case .modelVerdict:
            return Int(e.code) < schema.classes.count && e.code >= 0 ? schema.classes[Int(e.code)] : nil
        case .detection: kind = FindingKind(rawValue: e.code)
        case .diagnosis: kind = e.value.isFinite ? FindingKind(rawValue: Int32(e.value)) : nil
        default: kind = nil
        }
        guard let kind else { return nil }
        let name: String
        switch kind {
        case .stuck: name = "stuck"
        case .drift: name = "drift"
        case .spike, .rateOfChange: name = "spike"
        case .noise: name = "noise"
        case .dropout, .latency: name = "dropout"
        case .outOfRange, .disagreement: name = "bias"
        default: return nil
        }
        return schema.classes.contains(name) ? name : nil
    }

    // MARK: Updates

    /// Runs one update over every stored feedback sample and records it. Deploys on a pass.
    public func update(wallNanoseconds now: Int64) throws(PolicyLearningError) -> PolicyUpdateResult {
        updating.lock()
        defer { updating.unlock() }
        let clock = ContinuousClock.now
        let stored: [(feedbackID: Int64, sample: FeedbackSample)]
        let recent: [ModelUpdateRecord]
        do {
            stored = try journal.feedbackSamples()
            recent = try journal.modelUpdates(limit: 1_000)
        } catch { throw .journal(error) }
        guard let lastID = stored.last?.feedbackID else { return .nothingToLearn }
        let (deployed, record): (PolicyModel, ModelVersion)
        do { (deployed, record) = try store.loadDeployed() } catch { throw .store(error) }

        let hour: Int64 = 3_600_000_000_000
        let runs = recent.filter { $0.outcome != .rateLimited && now - $0.wallNanoseconds < hour }.map(\.wallNanoseconds).sorted()
        if runs.count >= max(options.maxUpdatesPerHour, 1) {
            let next = runs[runs.count - options.maxUpdatesPerHour] + hour
            _ = try? journal.recordModelUpdate(ModelUpdateRecord(wallNanoseconds: now, baseVersion: record.version, lastFeedbackID: lastID,
                                                                  outcome: .rateLimited, reasons: "hourly limit of \(options.maxUpdatesPerHour) updates"))
            return .rateLimited(nextAllowedWallNanoseconds: next)
        }

        // The lineage's first model is the gate's second reference: many small accepted updates may
        // not add up to more than the margin below it.
        var root = record
        if let history = try? journal.modelHistory() {
            while let parent = root.parentVersion, let p = history.first(where: { $0.version == parent }) { root = p }
        }
        let reference = root.version == record.version ? nil : (try? store.load(version: root.version))?.model
        var learner = IncrementalLearner(deployed: deployed, learningSet: learningSet, options: options, seed: UInt64(lastID),
                                         reference: reference)
        let schema = deployed.schema
        for (_, s) in stored {
            guard let label = schema.classes.firstIndex(of: s.label), s.features.count == schema.features.count else { continue }
            let bucket: FeedbackExample.Bucket = s.bucket == .success ? .success : s.bucket == .failure ? .failure : .edgeCase
            let action = s.action.flatMap { schema.actions.firstIndex(of: $0) }
            learner.add(FeedbackExample(features: s.features, label: label, action: action,
                                        good: s.reward.map { $0 > 0 }, bucket: bucket))
        }
        let outcome = learner.update(nowNanoseconds: UInt64(max(now, 0)))
        let d = ContinuousClock.now - clock
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        switch outcome {
        case .accepted(let model, let report):
            let version: ModelVersion
            do {
                version = try store.add(model, parent: record.version,
                                        trainingSummary: "incremental update of v\(record.version) from \(stored.count) feedback samples (feedback ≤ #\(lastID))",
                                        validationJSON: Self.json(report), deploy: true, note: "validation gate passed",
                                        wallNanoseconds: now)
            } catch { throw .store(error) }
            _ = try? journal.recordModelUpdate(ModelUpdateRecord(wallNanoseconds: now, baseVersion: record.version, lastFeedbackID: lastID,
                                                                  outcome: .accepted, newVersion: version.version,
                                                                  reportJSON: Self.json(report), durationMilliseconds: ms))
            return .deployed(version: version.version, parent: record.version, report: report, milliseconds: ms)
        case .rejected(let report):
            _ = try? journal.recordModelUpdate(ModelUpdateRecord(wallNanoseconds: now, baseVersion: record.version, lastFeedbackID: lastID,
                                                                  outcome: .rejected, reasons: report.reasons.joined(separator: "\n"),
                                                                  reportJSON: Self.json(report), durationMilliseconds: ms))
            return .rejected(reasons: report.reasons, report: report, milliseconds: ms)
        case .rateLimited(let next):
            return .rateLimited(nextAllowedWallNanoseconds: Int64(next))
        }
    }

    static func json(_ r: GateReport) -> String {
        String(format: "{\"golden_accuracy_before\":%.4f,\"golden_accuracy_after\":%.4f,\"golden_macro_f1_after\":%.4f,"
               + "\"golden_action_before\":%.4f,\"golden_action_after\":%.4f,\"corrections_learned\":%d,\"corrections\":%d,"
               + "\"ratings_honoured\":%d,\"ratings\":%d,\"passed\":%@}",
               r.goldenBefore.accuracy, r.goldenAfter.accuracy, r.goldenAfter.macroF1, r.goldenActionBefore.isNaN ? 0 : r.goldenActionBefore,
               r.goldenActionAfter.isNaN ? 0 : r.goldenActionAfter, r.correctionsLearned, r.corrections, r.ratingsHonoured, r.ratings,
               r.passed ? "true" : "false")
    }
}
