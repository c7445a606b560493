import Foundation
import GRDB
import VigilCore

/// A message kept in the journal's outbox while no broker is reachable.
public struct OutboxMessage: Sendable, Hashable {
    /// Position in the outbox (sent in increasing order); 0 before it is stored.
    public var id: Int64
    public var topic: String
    /// The payload as the edge node will send it, less what is given at send time (seq, the historical flag).
    public var payload: [UInt8]
    /// Carries an event or an alarm change: such messages are dropped only when nothing else is left to drop.
    public var important: Bool
    public var wallNanoseconds: Int64

    public init(id: Int64 = 0, topic: String, payload: [UInt8], important: Bool, wallNanoseconds: Int64) {
        self.id = id
        self.topic = topic
        self.payload = payload
        self.important = important
        self.wallNanoseconds = wallNanoseconds
    }
}

/// The outbox's counters.
public struct OutboxState: Sendable, Hashable {
    /// Messages kept now.
    public var kept: Int
    /// Messages dropped for space since the journal was made.
    public var dropped: Int
    /// The last journal event handed to the edge node (nil: none yet).
    public var eventCursor: Int64?

    public init(kept: Int, dropped: Int, eventCursor: Int64?) {
        self.kept = kept
        self.dropped = dropped
        self.eventCursor = eventCursor
    }
}

extension Journal {
    /// Appends messages (in order) and moves the event cursor, in one transaction; when the outbox
    /// then holds more than `capacity`, the oldest plain messages go first, then the oldest
    /// important ones. Returns how many were dropped.
    @discardableResult
    public func outboxAppend(_ messages: [OutboxMessage], capacity: Int, eventCursor: Int64? = nil) throws(JournalError) -> Int {
        try write("append \(messages.count) messages to the MQTT outbox") { db in
            for m in messages {
                try db.execute(sql: "INSERT INTO mqtt_outbox (topic, payload, important, wall_ns) VALUES (?, ?, ?, ?)",
                               arguments: [m.topic, Data(m.payload), m.important, m.wallNanoseconds])
            }
            var kept = try Int.fetchOne(db, sql: "SELECT kept FROM mqtt_outbox_state WHERE id = 1") ?? 0
            kept += messages.count
            var dropped = 0
            if kept > capacity {
                let excess = kept - capacity
                try db.execute(sql: """
                    DELETE FROM mqtt_outbox WHERE id IN (SELECT id FROM mqtt_outbox WHERE important = 0 ORDER BY id LIMIT ?)
                    """, arguments: [excess])
                dropped = db.changesCount
                if dropped < excess {
                    try db.execute(sql: "DELETE FROM mqtt_outbox WHERE id IN (SELECT id FROM mqtt_outbox ORDER BY id LIMIT ?)",
                                   arguments: [excess - dropped])
                    dropped += db.changesCount
                }
                kept -= dropped
            }
            if let eventCursor {
                try db.execute(sql: "UPDATE mqtt_outbox_state SET kept = ?, dropped = dropped + ?, event_cursor = ? WHERE id = 1",
                               arguments: [kept, dropped, eventCursor])
            } else {
                try db.execute(sql: "UPDATE mqtt_outbox_state SET kept = ?, dropped = dropped + ? WHERE id = 1", arguments: [kept, dropped])
            }
            return dropped
        }
    }

    /// The oldest messages, at most `limit`, with ids above `after`.
    public func outboxPeek(after id: Int64 = 0, limit: Int) throws(JournalError) -> [OutboxMessage] {
        try read("read the MQTT outbox") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM mqtt_outbox WHERE id > ? ORDER BY id LIMIT ?", arguments: [id, limit]).map { row in
                OutboxMessage(id: row["id"], topic: row["topic"], payload: [UInt8]((row["payload"] as Data?) ?? Data()),
                              important: row["important"], wallNanoseconds: row["wall_ns"])
            }
        }
    }

    /// Removes every message up to and including `id` (delivered).
    public func outboxRemove(through id: Int64) throws(JournalError) {
        try write("remove delivered messages from the MQTT outbox") { db in
            try db.execute(sql: "DELETE FROM mqtt_outbox WHERE id <= ?", arguments: [id])
            let removed = db.changesCount
            try db.execute(sql: "UPDATE mqtt_outbox_state SET kept = MAX(0, kept - ?) WHERE id = 1", arguments: [removed])
        }
    }

    /// Moves the event cursor alone (events published straight to the broker).
    public func outboxSetEventCursor(_ cursor: Int64) throws(JournalError) {
        try write("move the MQTT event cursor") { db in
            try db.execute(sql: "UPDATE mqtt_outbox_state SET event_cursor = ? WHERE id = 1", arguments: [cursor])
        }
    }

    public func outboxState() throws(JournalError) -> OutboxState {
        try read("read the MQTT outbox state") { db in
            let row = try Row.fetchOne(db, sql: "SELECT kept, dropped, event_cursor FROM mqtt_outbox_state WHERE id = 1")
            return OutboxState(kept: row?["kept"] ?? 0, dropped: row?["dropped"] ?? 0, eventCursor: row?["event_cursor"])
        }
    }

    /// The Sparkplug `bdSeq` the edge node's next connection takes (0 at first).
    public func sparkplugNextBdSeq() throws(JournalError) -> UInt8 {
        try read("read the Sparkplug bdSeq") { db in
            UInt8(truncatingIfNeeded: try Int.fetchOne(db, sql: "SELECT next_bd_seq FROM mqtt_outbox_state WHERE id = 1") ?? 0)
        }
    }

    public func setSparkplugNextBdSeq(_ value: UInt8) throws(JournalError) {
        try write("save the Sparkplug bdSeq") { db in
            try db.execute(sql: "UPDATE mqtt_outbox_state SET next_bd_seq = ? WHERE id = 1", arguments: [Int(value)])
        }
    }
}
