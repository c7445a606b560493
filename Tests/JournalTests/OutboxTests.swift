import Foundation
import Journal
import Testing

/// The MQTT outbox: messages kept in order, delivered ones removed, plain ones dropped before
/// events and alarms when full, counters and the event cursor kept across a reopen.
@Suite struct OutboxTests {
    func message(_ n: Int, important: Bool = false) -> OutboxMessage {
        OutboxMessage(topic: "spBv1.0/g/NDATA/n", payload: [UInt8(n & 0xff), UInt8(n >> 8)], important: important, wallNanoseconds: Int64(n))
    }

    @Test func messagesComeBackInOrderAndDeliveredOnesGo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        try journal.outboxAppend((0..<5).map { message($0) }, capacity: 100)
        try journal.outboxAppend((5..<8).map { message($0, important: true) }, capacity: 100)
        let all = try journal.outboxPeek(limit: 100)
        #expect(all.map(\.wallNanoseconds) == Array(0..<8).map(Int64.init))
        #expect(all.map(\.payload) == (0..<8).map { [UInt8($0), 0] })
        #expect(all.filter(\.important).count == 3)
        #expect(try journal.outboxPeek(after: all[2].id, limit: 2).map(\.wallNanoseconds) == [3, 4])
        try journal.outboxRemove(through: all[3].id)
        #expect(try journal.outboxPeek(limit: 100).map(\.wallNanoseconds) == [4, 5, 6, 7])
        #expect(try journal.outboxState() == OutboxState(kept: 4, dropped: 0, eventCursor: nil))
    }

    @Test func fullOutboxDropsTheOldestPlainMessagesFirstAndCountsThem() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        // 0, 2, 4, … are plain; 1, 3, 5, … important.
        for n in 0..<10 { try journal.outboxAppend([message(n, important: n % 2 == 1)], capacity: 6) }
        let kept = try journal.outboxPeek(limit: 100).map(\.wallNanoseconds)
        #expect(kept == [1, 3, 5, 7, 8, 9])
        #expect(try journal.outboxState().dropped == 4)
        // One plain message left (8): it goes, then the oldest important one (1).
        let dropped = try journal.outboxAppend([message(11, important: true), message(13, important: true)], capacity: 6)
        #expect(dropped == 2)
        #expect(try journal.outboxPeek(limit: 100).map(\.wallNanoseconds) == [3, 5, 7, 9, 11, 13])
        #expect(try journal.outboxState() == OutboxState(kept: 6, dropped: 6, eventCursor: nil))
    }

    @Test func stateAndMessagesSurviveAReopen() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        do {
            let journal = try Journal(path: dir.path("j.sqlite"))
            try journal.outboxAppend([message(1), message(2, important: true)], capacity: 10, eventCursor: 41)
            try journal.outboxSetEventCursor(42)
        }
        let journal = try Journal(path: dir.path("j.sqlite"))
        #expect(try journal.outboxState() == OutboxState(kept: 2, dropped: 0, eventCursor: 42))
        #expect(try journal.outboxPeek(limit: 10).map(\.payload) == [[1, 0], [2, 0]])
    }
}
