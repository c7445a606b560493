import GRDB

extension Journal {
    /// A fleet link cursor (nil: never set): the last operator feedback id the broker acknowledged.
    public func fleetCursor(_ name: String) throws(JournalError) -> Int64? {
        try read("query fleet cursor") { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM fleet_cursor WHERE name = ?", arguments: [name])
        }
    }

    public func setFleetCursor(_ name: String, _ value: Int64) throws(JournalError) {
        try write("set fleet cursor") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO fleet_cursor (name, value) VALUES (?, ?)", arguments: [name, value])
        }
    }

    /// The feature samples stored with one verdict, in order (empty: none, or the verdict was
    /// rejected or withdrawn).
    public func feedbackSamples(feedbackID: Int64) throws(JournalError) -> [FeedbackSample] {
        try read("query feedback samples of \(feedbackID)") { db in
            try Row.fetchAll(db, sql: """
                SELECT s.* FROM feedback_sample s JOIN operator_feedback f ON f.id = s.feedback_id
                WHERE s.feedback_id = ? AND f.status IN ('pending', 'learned') ORDER BY s.id
                """, arguments: [feedbackID]).map { row in
                FeedbackSample(features: Self.floats(row["features"]), label: row["label"], action: row["action"],
                               reward: row["reward"], bucket: FeedbackSample.Bucket(rawValue: row["bucket"]) ?? .edgeCase)
            }
        }
    }
}
