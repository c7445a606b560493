import Foundation
import Journal
import Kernel
import Testing
import VigilCore

@Suite struct EventQueueTests {
    @Test func aFullQueueRefusesLowSeveritiesFirstAndCountsEachDrop() {
        let queue = EventQueue(capacity: 100, safetyCapacity: 8)
        // No consumer: each severity is admitted only below its watermark (50/70/85/95 %).
        for severity in [EventSeverity.debug, .info, .warning, .alarm] {
            for i in 0..<100 { queue.push(event(severity, mono: UInt64(i))) }
        }
        #expect(queue.droppedCounts == [.debug: 50, .info: 80, .warning: 85, .alarm: 90, .safety: 0])

        var drained: [TimedEvent] = []
        queue.drain(into: &drained, maxCount: .max)
        let kept = Dictionary(grouping: drained, by: \.severity).mapValues(\.count)
        #expect(kept == [.debug: 50, .info: 20, .warning: 15, .alarm: 10])
    }

    @Test func aDebugFloodLeavesRoomForAlarmsAndSafety() {
        let queue = EventQueue(capacity: 1000, safetyCapacity: 16)
        for i in 0..<10_000 { queue.push(event(.debug, mono: UInt64(i))) }
        for i in 0..<400 { #expect(queue.push(event(.alarm, mono: UInt64(20_000 + i)))) }
        for i in 0..<50 { #expect(queue.push(event(.safety, mono: UInt64(30_000 + i)))) }
        #expect(queue.droppedCount(.debug) == 9_500)
        #expect(queue.droppedCount(.alarm) == 0)
        #expect(queue.droppedCount(.safety) == 0)
    }

    @Test func safetyEventsAreNeverLostUnderAFloodOfLowSeverityEvents() {
        // A slow writer: it drains only every 50,000 pushes. 50 safety events arrive between
        // drains; 16 fit the safety ring, the rest spill into the main ring's reserved top 5 %.
        let queue = EventQueue(capacity: 1000, safetyCapacity: 16)
        let low: [EventSeverity] = [.debug, .info, .warning, .alarm]
        var pushed = 0, safetyPushed = 0, received: [TimedEvent] = []
        for i in 0..<100_000 {
            if i % 1000 == 999 {
                queue.push(event(.safety, mono: UInt64(i), tag: Int32(i)))
                safetyPushed += 1
            } else {
                queue.push(event(low[i % 4], mono: UInt64(i)))
            }
            pushed += 1
            if i % 50_000 == 49_999 { queue.drain(into: &received, maxCount: .max) }
        }
        queue.drain(into: &received, maxCount: .max)

        #expect(queue.droppedCount(.safety) == 0)
        let safety = received.filter { $0.severity == .safety }
        #expect(safety.count == safetyPushed)
        let expectedCodes: [Int32] = (0..<100).map { (i: Int) -> Int32 in Int32(i * 1000 + 999) }
        #expect(safety.map(tag) == expectedCodes)
        #expect(received.count + queue.droppedCounts.values.reduce(0, +) == pushed)
        #expect(received.map(\.plantNanoseconds) == received.map(\.plantNanoseconds).sorted())
    }

    @Test func aSafetyEventIsCountedAsLostOnlyWhenBothRingsAreFull() {
        let queue = EventQueue(capacity: 20, safetyCapacity: 1)
        for i in 0..<30 { queue.push(event(.safety, mono: UInt64(i))) }
        #expect(queue.droppedCount(.safety) == 9)
        #expect(queue.count == 21)
    }

    @Test func popMergesTheSafetyRingAndTheMainRingInPushOrder() {
        let queue = EventQueue(capacity: 100)
        queue.push(event(.info, mono: 1))
        queue.push(event(.safety, mono: 2))
        queue.push(event(.warning, mono: 3))
        queue.push(event(.safety, mono: 4))
        var order: [UInt64] = []
        while let e = queue.pop() { order.append(e.plantNanoseconds) }
        #expect(order == [1, 2, 3, 4])
        #expect(queue.pop() == nil)
    }

    /// The events of one cycle share its plant time: they come out in the order the kernel gave
    /// them, safety or not (an interlock trip after the detection that caused it).
    @Test func eventsOfOneCycleKeepTheirOrderAcrossTheRings() {
        let queue = EventQueue(capacity: 100)
        for (i, severity) in [EventSeverity.info, .safety, .warning, .safety, .alarm].enumerated() {
            queue.push(event(severity, mono: 7, tag: Int32(i)))
        }
        var tags: [Int32] = []
        while let e = queue.pop() { tags.append(tag(e)) }
        #expect(tags == [0, 1, 2, 3, 4])
    }

    @Test func aConcurrentProducerAndConsumerDeliverEachEventOnceInOrderOrCountIt() async {
        let queue = EventQueue(capacity: 256, safetyCapacity: 64)
        let total = 200_000
        let producer = Thread {
            for i in 0..<total {
                let severity: EventSeverity = i % 500 == 0 ? .safety : EventSeverity(rawValue: UInt8(i % 4))!
                queue.push(event(severity, mono: UInt64(i), tag: Int32(i)))
            }
        }
        producer.start()
        var received: [TimedEvent] = []
        received.reserveCapacity(total)
        // The consumer spins until everything pushed is either received or counted as dropped.
        while received.count + queue.droppedCounts.values.reduce(0, +) < total {
            if queue.drain(into: &received, maxCount: 64) == 0 { await Task.yield() }
        }
        let codes = received.map(tag)
        #expect(Set(codes).count == codes.count, "an event was delivered twice")
        #expect(codes == codes.sorted(), "events came out of order")
        #expect(received.count + queue.droppedCounts.values.reduce(0, +) == total)
        // This producer runs flat out with no cycle period, far faster than the cycle thread, so
        // safety events may overflow here; what matters is that each one is delivered or counted.
        #expect(received.filter { $0.severity == .safety }.count + queue.droppedCount(.safety) == total / 500)
    }
}
