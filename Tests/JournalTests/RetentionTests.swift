import Foundation
import Journal
import Kernel
import Testing
import VigilCore

@Suite struct RetentionTests {
    @Test func pruningRemovesTheOldestEventsBelowAlarmFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        // 100 events: every tenth safety, every tenth (offset 5) alarm, the rest debug/info/warning.
        let events = (0..<100).map { i -> TimedEvent in
            let severity: EventSeverity = i % 10 == 0 ? .safety : i % 10 == 5 ? .alarm : EventSeverity(rawValue: UInt8(i % 3))!
            return event(severity, mono: UInt64(i), tag: Int32(i))
        }
        try journal.appendEvents(events, codec: testCodec, wallOffsetNanoseconds: 0)

        let deleted = try journal.prune(RetentionPolicy(maxEvents: 50, pruneBatch: 7, maxBatchesPerPrune: 100))
        #expect(deleted == 50)
        let kept = try journal.recentEvents(limit: 1000)
        #expect(kept.count == 50)
        #expect(kept.filter { $0.severity >= .alarm }.count == 20)
        let lowCodes = events.filter { $0.severity < .alarm }.map(tag)
        #expect(kept.filter { $0.severity < .alarm }.map(tag).sorted() == Array(lowCodes.suffix(30)))
    }

    @Test func alarmsArePrunedOnlyWhenNothingBelowIsLeftAndSafetyNever() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        try journal.appendEvents((0..<30).map { event(.alarm, mono: UInt64($0), tag: Int32($0)) }
            + (0..<30).map { event(.safety, mono: UInt64(100 + $0)) }, codec: testCodec, wallOffsetNanoseconds: 0)

        #expect(try journal.prune(RetentionPolicy(maxEvents: 40, maxBatchesPerPrune: 10)) == 20)
        #expect(try journal.recentEvents(limit: 1000, kinds: [.limitCrossed]).map(tag).sorted() == Array(20..<30))

        // Only safety and 10 alarms left: a cap of 5 removes the alarms and keeps every safety event.
        #expect(try journal.prune(RetentionPolicy(maxEvents: 5, maxBatchesPerPrune: 10)) == 10)
        #expect(try journal.counts().eventsBySeverity == [.safety: 30])
    }

    @Test func pruningKeepsEventsThatOperatorFeedbackRefersTo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        try journal.appendEvents((0..<10).map { event(.info, mono: UInt64($0), tag: Int32($0)) }, codec: testCodec, wallOffsetNanoseconds: 0)
        let oldest = try #require(try journal.recentEvents(limit: 10).last)
        try journal.recordFeedback(OperatorFeedback(wallNanoseconds: 0, operatorName: "anna", subject: "x",
                                                    eventID: oldest.id, verdict: .falseAlarm))
        try journal.prune(RetentionPolicy(maxEvents: 3))
        #expect(try journal.recentEvents().map(tag) == [9, 8, 0])
    }

    @Test func pruningWorksInBoundedBatchesPerCall() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        try journal.appendEvents((0..<100).map { event(.debug, mono: UInt64($0)) }, codec: testCodec, wallOffsetNanoseconds: 0)
        let policy = RetentionPolicy(maxEvents: 10, pruneBatch: 20, maxBatchesPerPrune: 2)
        #expect(try journal.prune(policy) == 40)
        #expect(try journal.prune(policy) == 40)
        #expect(try journal.prune(policy) == 10)
        #expect(try journal.prune(policy) == 0)
    }
}
