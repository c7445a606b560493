import VigilCore
import Kernel

/// A row read back from the journal: the database id and the value.
public struct JournalRecord<Value: Sendable & Hashable>: Sendable, Hashable {
    public var id: Int64
    public var value: Value
    public init(id: Int64, value: Value) {
        self.id = id
        self.value = value
    }
}

/// An event as stored: its row (`EventCodec` reads it back into a `ControllerEvent`) with the
/// journal's id, wall time, plant time and cycle.
public struct StoredEvent: Sendable, Hashable {
    public var id: Int64
    /// The `EventKind` name; kept as text so a journal written by a newer build still reads.
    public var kindName: String
    public var severity: EventSeverity
    public var wallNanoseconds: Int64
    /// Plant time (`CLOCK_MONOTONIC` in production, the manual clock in simulation).
    public var monotonicNanoseconds: UInt64
    /// The subject's name, or nil when the event had none.
    public var subject: String?
    public var code: Int32
    public var value: Double
    public var value2: Double
    public var detail: String?
    /// The kernel cycle it happened in (nil in journals written before cycles were recorded).
    public var cycle: UInt64?

    public init(id: Int64, kindName: String, severity: EventSeverity, wallNanoseconds: Int64, monotonicNanoseconds: UInt64,
                subject: String?, code: Int32, value: Double, value2: Double, detail: String?, cycle: UInt64? = nil) {
        self.id = id
        self.kindName = kindName
        self.severity = severity
        self.wallNanoseconds = wallNanoseconds
        self.monotonicNanoseconds = monotonicNanoseconds
        self.subject = subject
        self.code = code
        self.value = value
        self.value2 = value2
        self.detail = detail
        self.cycle = cycle
    }

    /// The kind, or nil if this build does not know the stored name.
    public var kind: EventKind? { EventKind(rawValue: kindName) }

    /// The row as the codec reads it.
    public var row: EventRow {
        EventRow(kindName: kindName, severity: severity, subject: subject, code: code, value: value, value2: value2, detail: detail)
    }

    /// The typed event, through the one codec (nil for a row this build cannot read).
    public func event(_ codec: EventCodec) -> ControllerEvent? { codec.decode(row) }
}

extension EventSeverity {
    public var journalName: String { String(describing: self) }
}

/// The operator's verdict on a diagnosis.
public enum FeedbackVerdict: String, Sendable, Hashable, CaseIterable {
    case confirmed, falseAlarm, correctedClass
}

/// What became of a verdict: `pending` until an update settles it; `learned` once a deployed
/// version was trained with it; `rejected` when the gate refused the update it was first part of
/// (set aside: later updates leave it out until the operator gives it again); `withdrawn` by the
/// operator (its samples are deleted).
public enum FeedbackStatus: String, Sendable, Hashable, CaseIterable {
    case pending, learned, rejected, withdrawn
}

/// The operator's rating of the action Vigil took.
public enum ActionRating: String, Sendable, Hashable, CaseIterable {
    case good, bad
}

/// One piece of operator feedback: what the learner trains on.
public struct OperatorFeedback: Sendable, Hashable {
    public var wallNanoseconds: Int64
    public var operatorName: String
    /// The sensor, output or device the feedback is about.
    public var subject: String
    /// The journal event the operator judged, if any.
    public var eventID: Int64?
    public var verdict: FeedbackVerdict
    /// With `.correctedClass`: the class the operator says is right.
    public var correctedClass: String?
    public var actionRating: ActionRating?
    public var note: String
    public var status: FeedbackStatus

    public init(wallNanoseconds: Int64, operatorName: String, subject: String, eventID: Int64? = nil,
                verdict: FeedbackVerdict, correctedClass: String? = nil, actionRating: ActionRating? = nil,
                note: String = "", status: FeedbackStatus = .pending) {
        self.status = status
        self.wallNanoseconds = wallNanoseconds
        self.operatorName = operatorName
        self.subject = subject
        self.eventID = eventID
        self.verdict = verdict
        self.correctedClass = correctedClass
        self.actionRating = actionRating
        self.note = note
    }
}

/// One operator command and what came of it.
public struct AuditEntry: Sendable, Hashable {
    public var wallNanoseconds: Int64
    /// Who or where the command came from, e.g. `console:/dev/ttyS0`.
    public var source: String
    public var command: String
    public var result: String
    /// The console role that issued it (viewer, operator, engineer); empty when not from a console.
    public var role: String
    /// False for a read-only command (status, sensors, …): retention may prune those; a privileged
    /// entry (anything that changes something, every login) is kept for ever.
    public var privileged: Bool

    public init(wallNanoseconds: Int64, source: String, command: String, result: String, role: String = "", privileged: Bool = true) {
        self.privileged = privileged
        self.wallNanoseconds = wallNanoseconds
        self.source = source
        self.command = command
        self.result = result
        self.role = role
    }
}

/// One policy model in the registry.
public struct ModelVersion: Sendable, Hashable {
    public var version: Int
    public var parentVersion: Int?
    public var createdWallNanoseconds: Int64
    public var filePath: String
    /// Hex SHA-256 of the model file.
    public var sha256: String
    public var trainingSummary: String
    /// Validation figures as a JSON document.
    public var validationJSON: String
    public var deployed: Bool
    public var note: String
    /// Why the file does not load (recorded when a load failed), or nil when it is intact as far as known.
    public var damaged: String?

    public init(version: Int, parentVersion: Int?, createdWallNanoseconds: Int64, filePath: String, sha256: String,
                trainingSummary: String = "", validationJSON: String = "{}", deployed: Bool = false, note: String = "",
                damaged: String? = nil) {
        self.damaged = damaged
        self.version = version
        self.parentVersion = parentVersion
        self.createdWallNanoseconds = createdWallNanoseconds
        self.filePath = filePath
        self.sha256 = sha256
        self.trainingSummary = trainingSummary
        self.validationJSON = validationJSON
        self.deployed = deployed
        self.note = note
    }
}

/// How many rows each table holds.
public struct JournalCounts: Sendable, Hashable {
    public var events: Int
    public var eventsBySeverity: [EventSeverity: Int]
    public var feedback: Int
    public var auditEntries: Int
    public var models: Int
}

/// How large the event table may grow, and what goes first when it is too large.
///
/// Oldest events below `alarm` go first. Alarm events go only if the table is still above the cap
/// with nothing below alarm left. Safety events are never pruned: they are few (state changes,
/// not samples), and losing the record of a safe-state entry is worse than exceeding the cap.
/// Events that operator feedback refers to are kept too: the learner needs them.
public struct RetentionPolicy: Sendable, Hashable {
    public var maxEvents: Int
    /// Rows deleted per transaction, so a prune never holds the write lock for long.
    public var pruneBatch: Int
    /// Transactions per prune call; the writer prunes a little after every flush.
    public var maxBatchesPerPrune: Int
    /// Read-only audit entries (`AuditEntry.privileged` false) kept; older ones are pruned and
    /// counted (`Journal.auditEntriesPruned`). Privileged entries are never pruned.
    public var maxReadOnlyAuditEntries: Int

    public init(maxEvents: Int = 200_000, pruneBatch: Int = 2_000, maxBatchesPerPrune: Int = 4, maxReadOnlyAuditEntries: Int = 20_000) {
        precondition(maxEvents >= 0 && pruneBatch > 0 && maxBatchesPerPrune > 0 && maxReadOnlyAuditEntries >= 0)
        self.maxReadOnlyAuditEntries = maxReadOnlyAuditEntries
        self.maxEvents = maxEvents
        self.pruneBatch = pruneBatch
        self.maxBatchesPerPrune = maxBatchesPerPrune
    }
}

/// The policy model's view of a sensor around a journalled event: up to a few feature vectors
/// (newest last) and what the model said then.
public struct EventFeatures: Sendable, Hashable {
    public var eventID: Int64
    public var sensor: String
    public var monotonicNanoseconds: UInt64
    /// Feature vectors, oldest first; each has the model's feature count.
    public var samples: [[Float]]
    public var modelVersion: Int?
    public var diagnosis: String?
    public var action: String?
    /// The diagnosis logit over the runner-up class, in int8 steps (a small margin: an edge case).
    public var margin: Int?

    public init(eventID: Int64, sensor: String, monotonicNanoseconds: UInt64, samples: [[Float]],
                modelVersion: Int? = nil, diagnosis: String? = nil, action: String? = nil, margin: Int? = nil) {
        self.eventID = eventID
        self.sensor = sensor
        self.monotonicNanoseconds = monotonicNanoseconds
        self.samples = samples
        self.modelVersion = modelVersion
        self.diagnosis = diagnosis
        self.action = action
        self.margin = margin
    }
}

/// One labelled sample the learner trains on, stored with the feedback it came from.
public struct FeedbackSample: Sendable, Hashable {
    public enum Bucket: String, Sendable, Hashable, CaseIterable {
        case success, failure, edgeCase = "edge_case"
    }

    public var features: [Float]
    /// The diagnosis class (name) the operator says is right.
    public var label: String
    /// The action that was rated, with its reward (+1 good, −1 bad).
    public var action: String?
    public var reward: Double?
    public var bucket: Bucket

    public init(features: [Float], label: String, action: String? = nil, reward: Double? = nil, bucket: Bucket) {
        self.features = features
        self.label = label
        self.action = action
        self.reward = reward
        self.bucket = bucket
    }
}

/// One run of the incremental learner and its outcome.
public struct ModelUpdateRecord: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable {
        case accepted, rejected, rateLimited = "rate_limited"
    }

    public var wallNanoseconds: Int64
    public var baseVersion: Int
    /// Feedback up to this id was in the update.
    public var lastFeedbackID: Int64
    public var outcome: Outcome
    public var newVersion: Int?
    /// Why the gate refused it (one reason per line), or why it was not run.
    public var reasons: String
    public var reportJSON: String
    public var durationMilliseconds: Double

    public init(wallNanoseconds: Int64, baseVersion: Int, lastFeedbackID: Int64, outcome: Outcome, newVersion: Int? = nil,
                reasons: String = "", reportJSON: String = "{}", durationMilliseconds: Double = 0) {
        self.wallNanoseconds = wallNanoseconds
        self.baseVersion = baseVersion
        self.lastFeedbackID = lastFeedbackID
        self.outcome = outcome
        self.newVersion = newVersion
        self.reasons = reasons
        self.reportJSON = reportJSON
        self.durationMilliseconds = durationMilliseconds
    }
}
