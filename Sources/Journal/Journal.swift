import Foundation
import GRDB
import VigilCore
import Kernel

/// The controller's durable record: events, operator feedback, the audit log and the model
/// registry, in one SQLite database in WAL mode. One instance per database file; thread-safe.
///
/// Durability: every write goes through `DatabasePool.write`, one transaction per call, and the
/// connection runs `PRAGMA synchronous = FULL`. In WAL mode that fsyncs the WAL at every commit,
/// so a record whose write call has returned survives a process crash *and* a power cut. The
/// cheaper `NORMAL` survives a process crash but may lose the last commits on power loss, which
/// is not acceptable for operator feedback and the audit log: a console acknowledges a command
/// only after `recordCommand` returns. Events come in batches from `JournalWriter`, so the fsync
/// per commit costs one fsync per batch, not per event.
///
/// `DatabasePool` rather than `DatabaseQueue`: the console and the learner read while the writer
/// thread writes, and WAL readers never wait for the writer.
public final class Journal: Sendable {
    /// The database file.
    public let path: String
    private let pool: DatabasePool

    /// Opens the journal at `path`, creating it if needed, and brings its schema up to date.
    public init(path: String) throws(JournalError) {
        self.path = path
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        // Another process (a `vigil journal` query) may hold the write lock for a moment.
        config.busyMode = .timeout(5)
        config.label = "journal"
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw Self.openError(error, path: path)
        }
        let migrator = JournalSchema.migrator
        do {
            let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                let unknown = try pool.read { db in
                    try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
                }
                throw JournalError.newerSchema(path: path, unknownMigrations: unknown)
            }
            try migrator.migrate(pool)
        } catch let error as JournalError {
            throw error
        } catch {
            if case .corrupt = Self.openError(error, path: path) { throw Self.openError(error, path: path) }
            throw .migrationFailed(path: path, message: Self.message(error))
        }
    }

    // MARK: Durable writes (return only after commit)

    /// Records operator feedback and returns its id once committed and fsynced. Acknowledge to
    /// the operator only after this returns; if it throws, nothing was written.
    @discardableResult
    public func recordFeedback(_ feedback: OperatorFeedback) throws(JournalError) -> Int64 {
        try recordFeedback(feedback, samples: [])
    }

    /// Records operator feedback together with the labelled samples it teaches, in one transaction,
    /// and returns the feedback's id once committed and fsynced: the learner never sees feedback
    /// without its samples, nor samples without their feedback.
    @discardableResult
    public func recordFeedback(_ feedback: OperatorFeedback, samples: [FeedbackSample]) throws(JournalError) -> Int64 {
        try recordFeedback(feedback, samples: samples, audit: nil).id
    }

    /// What `recordFeedback` did: the new feedback's id, and the earlier verdict of the same
    /// operator on the same event it replaced (deleted with its samples), if any.
    public struct FeedbackWrite: Sendable, Hashable {
        public var id: Int64
        public var replaced: Int64?
    }

    /// Records operator feedback, its labelled samples and (when given) the audit entry of the
    /// command that gave it, all in one transaction: a crash leaves all of them or none. One
    /// verdict per event and operator: an earlier one of the same operator on the same event is
    /// deleted with its samples in the same transaction (it is in the audit log).
    public func recordFeedback(_ feedback: OperatorFeedback, samples: [FeedbackSample], audit: AuditEntry?) throws(JournalError) -> FeedbackWrite {
        try write("record feedback with \(samples.count) samples") { db in
            var replaced: Int64?
            if let event = feedback.eventID {
                let earlier = try Int64.fetchAll(db, sql: "SELECT id FROM operator_feedback WHERE event_id = ? AND operator = ? ORDER BY id",
                                                 arguments: [event, feedback.operatorName])
                for id in earlier {
                    try db.execute(sql: "DELETE FROM feedback_sample WHERE feedback_id = ?", arguments: [id])
                    try db.execute(sql: "DELETE FROM operator_feedback WHERE id = ?", arguments: [id])
                }
                replaced = earlier.last
            }
            try db.execute(sql: """
                INSERT INTO operator_feedback (wall_ns, operator, subject, event_id, verdict, class, action_rating, note, status)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')
                """, arguments: [feedback.wallNanoseconds, feedback.operatorName, feedback.subject, feedback.eventID,
                                 feedback.verdict.rawValue, feedback.correctedClass, feedback.actionRating?.rawValue,
                                 feedback.note])
            let id = db.lastInsertedRowID
            for s in samples {
                try db.execute(sql: """
                    INSERT INTO feedback_sample (feedback_id, features, label, action, reward, bucket) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [id, Self.blob(s.features), s.label, s.action, s.reward, s.bucket.rawValue])
            }
            if let audit { try Self.insertAudit(db, audit) }
            return FeedbackWrite(id: id, replaced: replaced)
        }
    }

    /// Withdraws `operatorName`'s verdict on `event`: its samples are deleted (no later update
    /// learns from them) and it is marked withdrawn, with the audit entry in the same transaction.
    /// Returns the withdrawn feedback's id, or nil when there was none to withdraw (nothing written).
    public func withdrawFeedback(event: Int64, operatorName: String, audit: AuditEntry?) throws(JournalError) -> Int64? {
        try write("withdraw feedback on event \(event)") { db -> Int64? in
            guard let id = try Int64.fetchOne(db, sql: """
                SELECT id FROM operator_feedback WHERE event_id = ? AND operator = ? AND status != 'withdrawn' ORDER BY id DESC LIMIT 1
                """, arguments: [event, operatorName]) else { return nil }
            try db.execute(sql: "DELETE FROM feedback_sample WHERE feedback_id = ?", arguments: [id])
            try db.execute(sql: "UPDATE operator_feedback SET status = 'withdrawn' WHERE id = ?", arguments: [id])
            if let audit { try Self.insertAudit(db, audit) }
            return id
        }
    }

    /// The feedback samples the learner may train on (of pending and learned verdicts; rejected
    /// and withdrawn ones are left out), in feedback order, with their feedback id: the newest
    /// `limit` when given, so an update's cost stays bounded however much feedback accumulates.
    public func feedbackSamples(limit: Int? = nil) throws(JournalError) -> [(feedbackID: Int64, sample: FeedbackSample)] {
        try read("query feedback samples") { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM (
                    SELECT s.* FROM feedback_sample s JOIN operator_feedback f ON f.id = s.feedback_id
                    WHERE f.status IN ('pending', 'learned') ORDER BY s.id DESC LIMIT ?)
                ORDER BY id
                """, arguments: [limit ?? -1]).map { row in
                (row["feedback_id"], FeedbackSample(features: Self.floats(row["features"]), label: row["label"], action: row["action"],
                                                    reward: row["reward"], bucket: FeedbackSample.Bucket(rawValue: row["bucket"]) ?? .edgeCase))
            }
        }
    }

    /// Ids of the verdicts no update has settled yet, oldest first.
    public func pendingFeedback() throws(JournalError) -> [Int64] {
        try read("query pending feedback") { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM operator_feedback WHERE status = 'pending' ORDER BY id")
        }
    }

    /// The status of one piece of feedback (nil: no such id, or replaced).
    public func feedbackStatus(_ id: Int64) throws(JournalError) -> FeedbackStatus? {
        try read("query feedback status") { db in
            try String.fetchOne(db, sql: "SELECT status FROM operator_feedback WHERE id = ?", arguments: [id]).flatMap(FeedbackStatus.init(rawValue:))
        }
    }

    /// Stores (or replaces) what the policy model saw around events, in one transaction.
    public func recordEventFeatures(_ records: [EventFeatures]) throws(JournalError) {
        guard !records.isEmpty else { return }
        try write("record features of \(records.count) events") { db in
            for r in records {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO event_features (event_id, sensor, mono_ns, feature_count, samples, model_version, diagnosis, action, margin)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [r.eventID, r.sensor, Int64(bitPattern: r.monotonicNanoseconds), r.samples.first?.count ?? 0,
                                     Self.blob(r.samples.flatMap { $0 }), r.modelVersion, r.diagnosis, r.action, r.margin])
            }
        }
    }

    /// What the policy model saw around event `id`, if it was recorded.
    public func eventFeatures(_ id: Int64) throws(JournalError) -> EventFeatures? {
        try read("query event features") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM event_features WHERE event_id = ?", arguments: [id]).map { row in
                let count: Int = row["feature_count"]
                let flat = Self.floats(row["samples"])
                let samples = count > 0 ? stride(from: 0, to: flat.count - count + 1, by: count).map { Array(flat[$0..<($0 + count)]) } : []
                return EventFeatures(eventID: id, sensor: row["sensor"], monotonicNanoseconds: UInt64(bitPattern: row["mono_ns"] as Int64),
                                     samples: samples, modelVersion: row["model_version"], diagnosis: row["diagnosis"],
                                     action: row["action"], margin: row["margin"])
            }
        }
    }

    /// One event by id.
    public func event(_ id: Int64) throws(JournalError) -> StoredEvent? {
        try read("query event") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM event WHERE id = ?", arguments: [id]).map(Self.storedEvent)
        }
    }

    /// Events after `id` (oldest first) of the given kinds, at most `limit`.
    public func events(after id: Int64, kinds: Set<EventKind>, limit: Int = 500) throws(JournalError) -> [StoredEvent] {
        guard !kinds.isEmpty else { return [] }
        let names = kinds.map(\.journalName).sorted()
        let sql = "SELECT * FROM event WHERE id > ? AND kind IN (\(Array(repeating: "?", count: names.count).joined(separator: ", "))) ORDER BY id LIMIT ?"
        let arguments = StatementArguments([id]) + StatementArguments(names) + StatementArguments([limit])
        return try read("query events after \(id)") { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.storedEvent)
        }
    }

    /// The newest event id (0 for none).
    public func lastEventID() throws(JournalError) -> Int64 {
        try read("query last event id") { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM event") ?? 0 }
    }

    /// Records one run of the learner, durably, and returns its id. `settling` are the pending
    /// verdicts the run decided: marked learned (accepted) or rejected in the same transaction;
    /// one withdrawn or replaced meanwhile stays as it is.
    @discardableResult
    public func recordModelUpdate(_ u: ModelUpdateRecord, settling: [Int64] = []) throws(JournalError) -> Int64 {
        try write("record model update") { db in
            try db.execute(sql: """
                INSERT INTO model_update (wall_ns, base_version, last_feedback_id, outcome, new_version, reasons, report_json, duration_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [u.wallNanoseconds, u.baseVersion, u.lastFeedbackID, u.outcome.rawValue, u.newVersion, u.reasons,
                                 u.reportJSON, u.durationMilliseconds])
            let id = db.lastInsertedRowID
            let status: FeedbackStatus? = u.outcome == .accepted ? .learned : u.outcome == .rejected ? .rejected : nil
            if let status {
                for f in settling {
                    try db.execute(sql: "UPDATE operator_feedback SET status = ?, update_id = ? WHERE id = ? AND status = 'pending'",
                                   arguments: [status.rawValue, id, f])
                }
            }
            return id
        }
    }

    /// Wall times of the learner runs that trained a candidate (accepted or rejected; a postponed
    /// run is not one) after `wallNanoseconds`, oldest first: what an hourly limit counts.
    public func updateRuns(after wallNanoseconds: Int64) throws(JournalError) -> [Int64] {
        try read("query recent model updates") { db in
            try Int64.fetchAll(db, sql: """
                SELECT wall_ns FROM model_update WHERE outcome IN ('accepted', 'rejected') AND wall_ns > ? ORDER BY wall_ns
                """, arguments: [wallNanoseconds])
        }
    }

    /// Learner runs, newest first.
    public func modelUpdates(limit: Int = 100) throws(JournalError) -> [ModelUpdateRecord] {
        try read("query model updates") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM model_update ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                ModelUpdateRecord(wallNanoseconds: row["wall_ns"], baseVersion: row["base_version"], lastFeedbackID: row["last_feedback_id"],
                                  outcome: ModelUpdateRecord.Outcome(rawValue: row["outcome"]) ?? .rejected, newVersion: row["new_version"],
                                  reasons: row["reasons"], reportJSON: row["report_json"], durationMilliseconds: row["duration_ms"])
            }
        }
    }

    /// Records an operator command in the audit log and returns its id once committed and
    /// fsynced. Acknowledge to the operator only after this returns.
    @discardableResult
    public func recordCommand(_ entry: AuditEntry) throws(JournalError) -> Int64 {
        try write("record command") { db in try Self.insertAudit(db, entry) }
    }

    @discardableResult
    static func insertAudit(_ db: Database, _ entry: AuditEntry) throws -> Int64 {
        try db.execute(sql: "INSERT INTO audit_log (wall_ns, source, role, command, result, privileged) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [entry.wallNanoseconds, entry.source, entry.role, entry.command, entry.result, entry.privileged])
        return db.lastInsertedRowID
    }

    /// Deletes the oldest read-only audit entries beyond `keep`, at most `batch` per call, and adds
    /// them to the `audit.pruned` counter in the same transaction. Privileged entries are never
    /// deleted. Returns how many went.
    @discardableResult
    public func pruneAudit(keepReadOnly keep: Int, batch: Int = 2_000) throws(JournalError) -> Int {
        try write("prune audit log") { db -> Int in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log WHERE privileged = 0") ?? 0
            let excess = min(count - keep, batch)
            guard excess > 0 else { return 0 }
            try db.execute(sql: """
                DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE privileged = 0 ORDER BY id LIMIT ?)
                """, arguments: [excess])
            let n = db.changesCount
            try Self.addToStat(db, name: "audit.pruned", delta: n)
            return n
        }
    }

    /// Read-only audit entries retention has deleted, over every run that used this journal.
    public func auditEntriesPruned() throws(JournalError) -> Int {
        try read("query audit prune counter") { db in
            try Int.fetchOne(db, sql: "SELECT value FROM journal_stats WHERE name = 'audit.pruned'") ?? 0
        }
    }

    /// Read-only audit entries now stored.
    public func readOnlyAuditEntries() throws(JournalError) -> Int {
        try read("count read-only audit entries") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log WHERE privileged = 0") ?? 0
        }
    }

    /// The console's failed-login rows (`LoginFailureRow`), for the login guard at start.
    public func loginFailures() throws(JournalError) -> [LoginFailureRow] {
        try read("read login failures") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM login_failure ORDER BY source, role").map { row in
                LoginFailureRow(source: row["source"], role: row["role"], failures: row["failures"],
                                lastFailureWallNanoseconds: row["last_failure_wall_ns"], lockedUntilWallNanoseconds: row["locked_until_wall_ns"])
            }
        }
    }

    /// Inserts or replaces the failed-login row of `row.source` and `row.role`, committed before it returns.
    public func recordLoginFailure(_ row: LoginFailureRow) throws(JournalError) {
        try write("record login failure") { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO login_failure (source, role, failures, last_failure_wall_ns, locked_until_wall_ns)
                VALUES (?, ?, ?, ?, ?)
                """, arguments: [row.source, row.role, row.failures, row.lastFailureWallNanoseconds, row.lockedUntilWallNanoseconds])
        }
    }

    /// Forgets the failed logins of `source` and `role` (a right PIN).
    public func clearLoginFailures(source: String, role: String) throws(JournalError) {
        try write("clear login failures") { db in
            try db.execute(sql: "DELETE FROM login_failure WHERE source = ? AND role = ?", arguments: [source, role])
        }
    }

    /// Registers a model version once committed and fsynced. If `model.deployed` is true, every
    /// other version is marked not deployed in the same transaction.
    public func registerModel(_ model: ModelVersion) throws(JournalError) {
        let inserted = try write("register model \(model.version)") { db -> Bool in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM model_version WHERE version = ?", arguments: [model.version]) ?? false {
                return false
            }
            if model.deployed { try db.execute(sql: "UPDATE model_version SET deployed = 0 WHERE deployed = 1") }
            try db.execute(sql: """
                INSERT INTO model_version (version, parent_version, created_wall_ns, file_path, sha256,
                                           training_summary, validation_json, deployed, note)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [model.version, model.parentVersion, model.createdWallNanoseconds, model.filePath,
                                 model.sha256, model.trainingSummary, model.validationJSON, model.deployed, model.note])
            return true
        }
        if !inserted { throw .duplicateModelVersion(path: path, version: model.version) }
    }

    /// Marks `version` as the one deployed model (deploy or roll back), durably, with the audit
    /// entry of the command that asked for it (when given) in the same transaction.
    public func markDeployed(version: Int, audit: AuditEntry? = nil) throws(JournalError) {
        let found = try write("deploy model \(version)") { db -> Bool in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM model_version WHERE version = ?", arguments: [version]) ?? false
            else { return false }
            try db.execute(sql: "UPDATE model_version SET deployed = 0 WHERE deployed = 1")
            try db.execute(sql: "UPDATE model_version SET deployed = 1 WHERE version = ?", arguments: [version])
            if let audit { try Self.insertAudit(db, audit) }
            return true
        }
        if !found { throw .unknownModelVersion(path: path, version: version) }
    }

    /// Records durably why `version`'s file does not load; `model history` shows it.
    public func markDamaged(version: Int, reason: String) throws(JournalError) {
        try write("mark model \(version) damaged") { db in
            try db.execute(sql: "UPDATE model_version SET damaged = ? WHERE version = ?", arguments: [reason, version])
        }
    }

    // MARK: Events (written by JournalWriter)

    /// Appends a batch of events and adds `droppedDelta` to the persistent drop counters, in one
    /// transaction. `codec` turns each event into its row; an event's wall time is its plant time
    /// plus `wallOffsetNanoseconds`.
    public func appendEvents(_ events: some Collection<TimedEvent>, codec: EventCodec, wallOffsetNanoseconds: Int64,
                             droppedDelta: [EventSeverity: Int] = [:]) throws(JournalError) {
        if events.isEmpty && droppedDelta.values.allSatisfy({ $0 == 0 }) { return }
        try write("append \(events.count) events") { db in
            let insert = try db.cachedStatement(sql: """
                INSERT INTO event (wall_ns, mono_ns, cycle, kind, severity, subject, code, value, value2, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for event in events {
                let row = codec.encode(event.event)
                try insert.execute(arguments: [
                    Int64(bitPattern: event.plantNanoseconds) &+ wallOffsetNanoseconds, Int64(bitPattern: event.plantNanoseconds),
                    Int64(bitPattern: event.cycle), row.kindName, Int(row.severity.rawValue), row.subject, Int(row.code),
                    row.value, row.value2, row.detail,
                ])
            }
            for (severity, count) in droppedDelta where count != 0 {
                try Self.addToStat(db, name: "dropped.\(severity.journalName)", delta: count)
            }
        }
    }

    /// Deletes the oldest events until at most `policy.maxEvents` remain, in batches of
    /// `policy.pruneBatch` rows per transaction, at most `policy.maxBatchesPerPrune` batches.
    /// Returns how many rows were deleted. See `RetentionPolicy` for what is kept longest.
    @discardableResult
    public func prune(_ policy: RetentionPolicy) throws(JournalError) -> Int {
        var deleted = 0
        for _ in 0..<policy.maxBatchesPerPrune {
            let n = try write("prune events") { db -> Int in
                let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0
                let excess = count - policy.maxEvents
                guard excess > 0 else { return 0 }
                let limit = min(excess, policy.pruneBatch)
                for ceiling in [EventSeverity.alarm, .safety] {
                    try db.execute(sql: """
                        DELETE FROM event WHERE id IN (
                            SELECT id FROM event
                            WHERE severity < ?
                              AND id NOT IN (SELECT event_id FROM operator_feedback WHERE event_id IS NOT NULL)
                            ORDER BY id LIMIT ?)
                        """, arguments: [Int(ceiling.rawValue), limit])
                    if db.changesCount > 0 { return db.changesCount }
                }
                return 0
            }
            if n == 0 { break }
            deleted += n
        }
        return deleted
    }

    // MARK: Queries

    /// The most recent events first, at least `minSeverity`, optionally only the given kinds.
    public func recentEvents(limit: Int = 100, minSeverity: EventSeverity = .debug,
                             kinds: Set<EventKind>? = nil) throws(JournalError) -> [StoredEvent] {
        var sql = "SELECT * FROM event WHERE severity >= ?"
        var arguments: StatementArguments = [Int(minSeverity.rawValue)]
        if let kinds {
            if kinds.isEmpty { return [] }
            sql += " AND kind IN (\(Array(repeating: "?", count: kinds.count).joined(separator: ", ")))"
            arguments += StatementArguments(kinds.map(\.journalName).sorted())
        }
        sql += " ORDER BY id DESC LIMIT ?"
        arguments += [limit]
        return try read("query events") { [sql, arguments] db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.storedEvent)
        }
    }

    /// Operator feedback, newest first.
    public func feedback(limit: Int = 100) throws(JournalError) -> [JournalRecord<OperatorFeedback>] {
        try read("query feedback") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM operator_feedback ORDER BY id DESC LIMIT ?", arguments: [limit])
                .map { row in
                    JournalRecord(id: row["id"], value: OperatorFeedback(
                        wallNanoseconds: row["wall_ns"], operatorName: row["operator"], subject: row["subject"],
                        eventID: row["event_id"], verdict: FeedbackVerdict(rawValue: row["verdict"]) ?? .confirmed,
                        correctedClass: row["class"],
                        actionRating: (row["action_rating"] as String?).flatMap(ActionRating.init(rawValue:)),
                        note: row["note"], status: FeedbackStatus(rawValue: row["status"]) ?? .pending))
                }
        }
    }

    /// The audit log, newest first.
    public func auditLog(limit: Int = 100) throws(JournalError) -> [JournalRecord<AuditEntry>] {
        try read("query audit log") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", arguments: [limit])
                .map { row in
                    JournalRecord(id: row["id"], value: AuditEntry(
                        wallNanoseconds: row["wall_ns"], source: row["source"], command: row["command"],
                        result: row["result"], role: row["role"], privileged: row["privileged"]))
                }
        }
    }

    /// Every registered model, newest version first.
    public func modelHistory() throws(JournalError) -> [ModelVersion] {
        try read("query models") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM model_version ORDER BY version DESC").map(Self.modelVersion)
        }
    }

    /// The deployed model, if any.
    public func deployedModel() throws(JournalError) -> ModelVersion? {
        try read("query deployed model") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM model_version WHERE deployed = 1").map(Self.modelVersion)
        }
    }

    /// Row counts per table and events per severity.
    public func counts() throws(JournalError) -> JournalCounts {
        try read("count rows") { db in
            var bySeverity: [EventSeverity: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT severity, COUNT(*) AS n FROM event GROUP BY severity") {
                if let severity = EventSeverity(rawValue: UInt8(clamping: row["severity"] as Int)) {
                    bySeverity[severity] = row["n"]
                }
            }
            return JournalCounts(
                events: bySeverity.values.reduce(0, +),
                eventsBySeverity: bySeverity,
                feedback: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM operator_feedback") ?? 0,
                auditEntries: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log") ?? 0,
                models: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM model_version") ?? 0)
        }
    }

    /// Events the queue dropped, per severity, summed over every run that used this journal.
    public func droppedEventCounts() throws(JournalError) -> [EventSeverity: Int] {
        try read("query drop counters") { db in
            var result: [EventSeverity: Int] = [:]
            for severity in EventSeverity.allCases {
                let value = try Int.fetchOne(db, sql: "SELECT value FROM journal_stats WHERE name = ?",
                                             arguments: ["dropped.\(severity.journalName)"])
                result[severity] = value ?? 0
            }
            return result
        }
    }

    /// True if `PRAGMA integrity_check` reports "ok". False on any damage or error.
    public func integrityCheck() -> Bool {
        let result = try? pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        return result == ["ok"]
    }

    /// The names of the applied migrations, in order.
    public func appliedMigrations() throws(JournalError) -> [String] {
        try read("query migrations") { db in try JournalSchema.migrator.appliedMigrations(db) }
    }

    // MARK: Internals

    func write<T>(_ operation: @autoclosure () -> String, _ body: (Database) throws -> T) throws(JournalError) -> T {
        do {
            return try pool.write(body)
        } catch let error as JournalError {
            throw error
        } catch {
            if case .corrupt = Self.openError(error, path: path) { throw Self.openError(error, path: path) }
            throw .writeFailed(path: path, operation: operation(), message: Self.message(error))
        }
    }

    func read<T>(_ operation: @autoclosure () -> String, _ body: (Database) throws -> T) throws(JournalError) -> T {
        do {
            return try pool.read(body)
        } catch {
            if case .corrupt = Self.openError(error, path: path) { throw Self.openError(error, path: path) }
            throw .readFailed(path: path, operation: operation(), message: Self.message(error))
        }
    }

    private static func openError(_ error: any Error, path: String) -> JournalError {
        if let error = error as? DatabaseError,
           error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            return .corrupt(path: path, message: message(error))
        }
        return .cannotOpen(path: path, message: message(error))
    }

    private static func message(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "\(error.message ?? "SQLite error") (\(error.resultCode))"
        }
        return String(describing: error)
    }

    private static func addToStat(_ db: Database, name: String, delta: Int) throws {
        try db.execute(sql: """
            INSERT INTO journal_stats (name, value) VALUES (?, ?)
            ON CONFLICT(name) DO UPDATE SET value = value + excluded.value
            """, arguments: [name, delta])
    }

    /// Float32 values as a little-endian blob, and back.
    static func blob(_ values: [Float]) -> Data {
        var data = Data(capacity: 4 * values.count)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func floats(_ data: Data) -> [Float] {
        let bytes = [UInt8](data)
        return stride(from: 0, to: bytes.count - 3, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }

    private static func storedEvent(_ row: Row) -> StoredEvent {
        StoredEvent(
            id: row["id"], kindName: row["kind"],
            severity: EventSeverity(rawValue: UInt8(clamping: row["severity"] as Int)) ?? .safety,
            wallNanoseconds: row["wall_ns"], monotonicNanoseconds: UInt64(bitPattern: row["mono_ns"] as Int64),
            subject: row["subject"], code: Int32(truncatingIfNeeded: row["code"] as Int64),
            value: row["value"] ?? .nan, value2: row["value2"] ?? .nan, detail: row["detail"],
            cycle: (row["cycle"] as Int64?).map { UInt64(bitPattern: $0) })
    }

    private static func modelVersion(_ row: Row) -> ModelVersion {
        ModelVersion(
            version: row["version"], parentVersion: row["parent_version"], createdWallNanoseconds: row["created_wall_ns"],
            filePath: row["file_path"], sha256: row["sha256"], trainingSummary: row["training_summary"],
            validationJSON: row["validation_json"], deployed: row["deployed"], note: row["note"], damaged: row["damaged"])
    }
}

/// Wrong console PINs in a row for one endpoint and role, and the lockout they started (wall clock).
public struct LoginFailureRow: Sendable, Hashable {
    public var source: String
    public var role: String
    public var failures: Int
    public var lastFailureWallNanoseconds: Int64
    public var lockedUntilWallNanoseconds: Int64

    public init(source: String, role: String, failures: Int, lastFailureWallNanoseconds: Int64, lockedUntilWallNanoseconds: Int64) {
        self.source = source
        self.role = role
        self.failures = failures
        self.lastFailureWallNanoseconds = lastFailureWallNanoseconds
        self.lockedUntilWallNanoseconds = lockedUntilWallNanoseconds
    }
}
