import Foundation
import Journal
import Kernel
import Testing
import VigilCore

@Suite struct JournalWriterTests {
    @Test func theWriterCommitsInBatchesAndFlushesEverythingOnStop() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let queue = EventQueue(capacity: 2048)
        for i in 0..<1000 {
            queue.push(TimedEvent(plantNanoseconds: UInt64(i), cycle: UInt64(i),
                                  event: .modelVerdict(sensor: Int32(i % 3), diagnosis: Int32(i), action: 0, logit: 0)))
        }
        let writer = JournalWriter(journal: journal, queue: queue, codec: testCodec,
                                   configuration: .init(batchSize: 256, flushIntervalNanoseconds: 60_000_000_000))
        writer.start()
        try writer.stop()

        #expect(try journal.counts().events == 1000)
        // 256 + 256 + 256 full batches, then 232 flushed by stop (the flush interval never came).
        #expect(writer.statistics.batchesCommitted == 4)
        #expect(writer.statistics.eventsWritten == 1000)
        let events = try journal.recentEvents(limit: 1000)
        #expect(events.map(\.code) == (0..<1000).reversed().map(Int32.init))
        #expect(events.first?.subject == "pump1.flow")  // 999 → sensor 0
    }

    @Test func theWriterFlushesOnItsIntervalWhileRunning() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let queue = EventQueue(capacity: 64)
        let writer = JournalWriter(journal: journal, queue: queue, codec: testCodec,
                                   configuration: .init(flushIntervalNanoseconds: 5_000_000, pollIntervalNanoseconds: 1_000_000))
        writer.start()
        for i in 0..<10 { queue.push(event(.warning, mono: UInt64(i))) }
        var written = 0
        for _ in 0..<500 where written < 10 {  // up to ~5 s, normally a few ms
            try await Task.sleep(nanoseconds: 10_000_000)
            written = try journal.counts().events
        }
        #expect(written == 10)
        try writer.stop()
        #expect(try journal.counts().events == 10)
    }

    @Test func theWriterRecordsTheQueuesDropCountersDurably() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("j.sqlite")
        let queue = EventQueue(capacity: 100)
        for i in 0..<300 { queue.push(event(.debug, mono: UInt64(i))) }
        for i in 0..<100 { queue.push(event(.warning, mono: UInt64(1000 + i))) }
        do {
            let journal = try Journal(path: path)
            let writer = JournalWriter(journal: journal, queue: queue, codec: testCodec)
            writer.start()
            try writer.stop()
        }
        let reopened = try Journal(path: path)
        #expect(try reopened.droppedEventCounts() == [.debug: 250, .info: 0, .warning: 65, .alarm: 0, .safety: 0])
        #expect(try reopened.counts().events == 85)
    }

    @Test func theWriterPrunesToTheRetentionCap() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let queue = EventQueue(capacity: 4096)
        for i in 0..<1000 {
            queue.push(event(i % 100 == 0 ? .safety : .info, mono: UInt64(i), tag: Int32(i)))
        }
        let writer = JournalWriter(journal: journal, queue: queue, codec: testCodec,
                                   configuration: .init(batchSize: 100, retention: RetentionPolicy(maxEvents: 200, pruneBatch: 50)))
        writer.start()
        try writer.stop()
        let counts = try journal.counts()
        #expect(counts.events == 200)
        #expect(counts.eventsBySeverity[.safety] == 10)
        #expect(writer.statistics.eventsPruned == 800)
        #expect(try journal.recentEvents(limit: 1).first.map(tag) == 999)
    }
}
