import Foundation
import Synchronization
import Testing
import CAllocCounter
import VigilMetrics
import VigilCore

/// The scan cycle stays off the heap with the exporter attached and collecting: the sink runs on the
/// draining thread, the device counters are seqlock copies on the bus threads.
@Suite(.serialized) struct MetricsAllocationTests {
    /// Allocation freedom is a property of the optimized build (README's test command runs the
    /// release pass with `swift test -c release`), like RuntimeTests' steady-state allocation tests.
    /// A plain thread does what a scrape does (`collect()`: drain and sink, snapshot, device traffic,
    /// journal reads, mapping, rendering) every 50 ms; the HTTP leg is left out because it runs on Swift
    /// concurrency's pool, which the release pass's parallel synchronous tests may hold, and it touches
    /// no thread but its own.
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func steadyStateCycleAllocatesNothingWithMetricsCollected() throws {
        let h = try MetricsHarness(adjust: { $0.cycle.periodMicroseconds = 500 }, minimumPeriodMicroseconds: 100,
                                   allocationCounter: vigil_thread_allocations)
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        let collector = try MetricsCollector(controller: h.controller, build: BuildInfo(version: "test"))
        collector.attach()
        defer { collector.detach() }
        let scraper = CollectingThread(collector)
        #expect(eventuallyBlocking(within: 120) { h.controller.steadyStateAllocations.cycles >= 10_000 })
        let scrapes = scraper.stop()
        let (allocations, cycles) = h.controller.steadyStateAllocations
        #expect(cycles >= 10_000)
        #expect(scrapes >= 10, "collected throughout the counted window")
        #expect(allocations == 0, "\(allocations) heap allocations on the cycle thread in \(cycles) steady-state cycles with \(scrapes) collections")
    }
}

/// Calls `collect()` every 50 ms on its own thread until stopped.
final class CollectingThread: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let count = Atomic<Int>(0)

    init(_ collector: MetricsCollector) {
        Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                if collector.collect().count > 1000 { count.add(1, ordering: .relaxed) }
                usleep(50_000)
            }
            finished.store(true, ordering: .releasing)
        }.start()
    }

    /// Stops the thread; returns how many collections rendered a full exposition.
    func stop() -> Int {
        stopping.store(true, ordering: .relaxed)
        while !finished.load(ordering: .acquiring) { usleep(1_000) }
        return count.load(ordering: .relaxed)
    }
}

/// `eventually` for synchronous tests (polls with usleep).
func eventuallyBlocking(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
