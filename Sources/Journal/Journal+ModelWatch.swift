import GRDB
import Kernel

/// The model watch's durable state: each version's figures, the outcomes counted and how far the
/// watch has read the event and feedback tables.
extension Journal {
    /// Every version's figures (oldest version first).
    public func modelWatchFigures() throws(JournalError) -> [ModelWatchFigures] {
        try read("query model watch") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM model_watch ORDER BY version").map { row in
                let recent: String = row["recent"]
                return ModelWatchFigures(version: row["version"], lineage: row["lineage"], fleetVersion: row["fleet_version"],
                                         baseline: row["baseline"], baselineSource: row["baseline_source"],
                                         recent: recent.map { $0 == "1" }, outcomes: row["outcomes"], agreed: row["agreed"],
                                         contradictions: row["contradictions"],
                                         state: ModelWatchState(rawValue: row["state"]) ?? .watching,
                                         afterRollback: row["after_rollback"], reason: row["reason"])
            }
        }
    }

    /// Stores figures (replacing a version's earlier ones) and, with `audit`, the audit entry of the
    /// decision they led to, in one durable transaction.
    public func recordModelWatch(_ figures: [ModelWatchFigures], wallNanoseconds: Int64, audit: AuditEntry? = nil) throws(JournalError) {
        try write("record model watch") { db in
            for f in figures {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO model_watch (version, lineage, fleet_version, baseline, baseline_source, recent, outcomes,
                                                        agreed, contradictions, state, after_rollback, reason, updated_wall_ns)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [f.version, f.lineage, f.fleetVersion, f.baseline, f.baselineSource,
                                     String(f.recent.map { $0 ? "1" : "0" }), f.outcomes, f.agreed, f.contradictions,
                                     f.state.rawValue, f.afterRollback, f.reason, wallNanoseconds])
            }
            if let audit { try Self.insertAudit(db, audit) }
        }
    }

    /// Records an outcome of event `eventID` unless one with the same proof is recorded already;
    /// true when it was new.
    public func recordModelOutcome(_ outcome: ModelOutcome, eventID: Int64, wallNanoseconds: Int64) throws(JournalError) -> Bool {
        try write("record model outcome") { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO model_watch_outcome (event_id, proof, version, model_said, truth, margin, agreed, wall_ns)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [eventID, outcome.proof.rawValue, outcome.version, outcome.modelSaid, outcome.truth, outcome.margin,
                                 outcome.agrees, wallNanoseconds])
            return db.changesCount > 0
        }
    }

    /// The outcomes counted, newest first, with the event whose opinion each judged.
    public func modelOutcomes(limit: Int = 100) throws(JournalError) -> [(eventID: Int64, outcome: ModelOutcome)] {
        try read("query model outcomes") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM model_watch_outcome ORDER BY id DESC LIMIT ?", arguments: [limit]).compactMap { row in
                guard let proof = ModelOutcome.Proof(rawValue: row["proof"]) else { return nil }
                return (row["event_id"], ModelOutcome(version: row["version"], proof: proof, modelSaid: row["model_said"],
                                                      truth: row["truth"], margin: row["margin"]))
            }
        }
    }

    /// A model watch cursor (nil: never set).
    public func modelWatchCursor(_ name: String) throws(JournalError) -> Int64? {
        try read("query model watch cursor") { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM model_watch_cursor WHERE name = ?", arguments: [name])
        }
    }

    public func setModelWatchCursor(_ name: String, _ value: Int64) throws(JournalError) {
        try write("set model watch cursor") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO model_watch_cursor (name, value) VALUES (?, ?)", arguments: [name, value])
        }
    }

    /// Operator feedback after `id`, oldest first (withdrawn verdicts left out).
    public func feedback(after id: Int64, limit: Int = 500) throws(JournalError) -> [JournalRecord<OperatorFeedback>] {
        try read("query feedback after \(id)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM operator_feedback WHERE id > ? AND status != 'withdrawn' ORDER BY id LIMIT ?",
                             arguments: [id, limit]).map { row in
                JournalRecord(id: row["id"], value: OperatorFeedback(
                    wallNanoseconds: row["wall_ns"], operatorName: row["operator"], subject: row["subject"],
                    eventID: row["event_id"], verdict: FeedbackVerdict(rawValue: row["verdict"]) ?? .confirmed,
                    correctedClass: row["class"], note: row["note"], status: FeedbackStatus(rawValue: row["status"]) ?? .pending))
            }
        }
    }

    /// The newest feature record of `sensor` at or before plant time `t` and not older than `maxAge`
    /// (what the model said about the sensor's latest event before `t`).
    public func latestEventFeatures(sensor: String, atOrBefore t: UInt64, maxAge: UInt64) throws(JournalError) -> EventFeatures? {
        let from = t >= maxAge ? t - maxAge : 0
        let id = try read("query latest event features") { db in
            try Int64.fetchOne(db, sql: """
                SELECT event_id FROM event_features WHERE sensor = ? AND mono_ns <= ? AND mono_ns >= ? AND diagnosis IS NOT NULL
                ORDER BY mono_ns DESC, event_id DESC LIMIT 1
                """, arguments: [sensor, Int64(bitPattern: t), Int64(bitPattern: from)])
        }
        guard let id else { return nil }
        return try eventFeatures(id)
    }
}
