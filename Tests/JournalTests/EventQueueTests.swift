import Foundation
import Journal
import Testing
import VigilCore

@Suite struct EventQueueTests {
    @Test func aFullQueueRefusesLowSeveritiesFirstAndCountsEachDrop() {
        let queue = EventQueue(capacity: 100, safetyCapacity: 8)
        // No consumer: each severity is admitted only below its watermark (50/70/85/95 %).
        for severity in [EventSeverity.debug, .info, .warning, .alarm] {
            for i in 0..<100 { queue.push(event(.detection, severity, mono: UInt64(i))) }
        }
        #expect(queue.droppedCounts == [.debug: 50, .info: 80, .warning: 85, .alarm: 90, .safety: 0])

        var drained: [ControllerEvent] = []
        queue.drain(into: &drained, maxCount: .max)
        let kept = Dictionary(grouping: drained, by: \.severity).mapValues(\.count)
        #expect(kept == [.debug: 50, .info: 20, .warning: 15, .alarm: 10])
    }

    @Test func aDebugFloodLeavesRoomForAlarmsAndSafety() {
        let queue = EventQueue(capacity: 1000, safetyCapacity: 16)
        for i in 0..<10_000 { queue.push(event(.overrun, .debug, mono: UInt64(i))) }
        for i in 0..<400 { #expect(queue.push(event(.failover, .alarm, mono: UInt64(20_000 + i)))) }
        for i in 0..<50 { #expect(queue.push(event(.safeStateEntered, .safety, mono: UInt64(30_000 + i)))) }
        #expect(queue.droppedCount(.debug) == 9_500)
        #expect(queue.droppedCount(.alarm) == 0)
        #expect(queue.droppedCount(.safety) == 0)
    }

    @Test func safetyEventsAreNeverLostUnderAFloodOfLowSeverityEvents() {
        // A slow writer: it drains only every 50,000 pushes. 50 safety events arrive between
        // drains; 16 fit the safety ring, the rest spill into the main ring's reserved top 5 %.
        let queue = EventQueue(capacity: 1000, safetyCapacity: 16)
        let low: [EventSeverity] = [.debug, .info, .warning, .alarm]
        var pushed = 0, safetyPushed = 0, received: [ControllerEvent] = []
        for i in 0..<100_000 {
            if i % 1000 == 999 {
                queue.push(event(.safeStateEntered, .safety, mono: UInt64(i), code: Int32(i)))
                safetyPushed += 1
            } else {
                queue.push(event(.detection, low[i % 4], mono: UInt64(i)))
            }
            pushed += 1
            if i % 50_000 == 49_999 { queue.drain(into: &received, maxCount: .max) }
        }
        queue.drain(into: &received, maxCount: .max)

        #expect(queue.droppedCount(.safety) == 0)
        let safety = received.filter { $0.severity == .safety }
        #expect(safety.count == safetyPushed)
        let expectedCodes: [Int32] = (0..<100).map { (i: Int) -> Int32 in Int32(i * 1000 + 999) }
        #expect(safety.map(\.code) == expectedCodes)
        #expect(received.count + queue.droppedCounts.values.reduce(0, +) == pushed)
        #expect(received.map(\.monotonicNanoseconds) == received.map(\.monotonicNanoseconds).sorted())
    }

    @Test func aSafetyEventIsCountedAsLostOnlyWhenBothRingsAreFull() {
        let queue = EventQueue(capacity: 20, safetyCapacity: 1)
        for i in 0..<30 { queue.push(event(.safeStateEntered, .safety, mono: UInt64(i))) }
        #expect(queue.droppedCount(.safety) == 9)
        #expect(queue.count == 21)
    }

    @Test func popMergesTheSafetyRingAndTheMainRingInMonotonicOrder() {
        let queue = EventQueue(capacity: 100)
        queue.push(event(.detection, .info, mono: 1))
        queue.push(event(.safeStateEntered, .safety, mono: 2))
        queue.push(event(.detection, .warning, mono: 3))
        queue.push(event(.safeStateLeft, .safety, mono: 4))
        var order: [UInt64] = []
        while let e = queue.pop() { order.append(e.monotonicNanoseconds) }
        #expect(order == [1, 2, 3, 4])
        #expect(queue.pop() == nil)
    }

    @Test func aConcurrentProducerAndConsumerDeliverEachEventOnceInOrderOrCountIt() async {
        let queue = EventQueue(capacity: 256, safetyCapacity: 64)
        let total = 200_000
        let producer = Thread {
            for i in 0..<total {
                let severity: EventSeverity = i % 500 == 0 ? .safety : EventSeverity(rawValue: UInt8(i % 4))!
                queue.push(event(.detection, severity, mono: UInt64(i), code: Int32(i)))
            }
        }
        producer.start()
        var received: [ControllerEvent] = []
        received.reserveCapacity(total)
        // The consumer spins until everything pushed is either received or counted as dropped.
        while received.count + queue.droppedCounts.values.reduce(0, +) < total {
            if queue.drain(into: &received, maxCount: 64) == 0 { await Task.yield() }
        }
        let codes = received.map(\.code)
        #expect(Set(codes).count == codes.count, "an event was delivered twice")
        #expect(codes == codes.sorted(), "events came out of order")
        #expect(received.count + queue.droppedCounts.values.reduce(0, +) == total)
        // This producer runs flat out with no cycle period, far faster than the cycle thread, so
        // safety events may overflow here; what matters is that each one is delivered or counted.
        #expect(received.filter { $0.severity == .safety }.count + queue.droppedCount(.safety) == total / 500)
    }
}
