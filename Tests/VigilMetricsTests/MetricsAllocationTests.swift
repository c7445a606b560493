import Foundation
import Testing
import CAllocCounter
import VigilMetrics
import VigilCore

/// The scan cycle stays off the heap with the exporter attached and scraped: the sink runs on the
/// draining thread, the device counters are seqlock copies on the bus threads.
@Suite(.serialized) struct MetricsAllocationTests {
    /// Allocation freedom is a property of the optimized build (README's test command runs the
    /// release pass with `swift test -c release`), like RuntimeTests' steady-state allocation tests.
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func steadyStateCycleAllocatesNothingWithMetricsScraped() async throws {
        let h = try MetricsHarness(adjust: { $0.cycle.periodMicroseconds = 500 }, minimumPeriodMicroseconds: 100,
                                   allocationCounter: vigil_thread_allocations)
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        let collector = try MetricsCollector(controller: h.controller, build: BuildInfo(version: "test"))
        collector.attach()
        defer { collector.detach() }
        let server = try MetricsServer(collector: collector, config: MetricsConfig(enabled: true, listen: MetricsListenAddress(host: "127.0.0.1", port: 0)))
        let port = try await server.start(timeoutSeconds: 10)
        var scrapes = 0
        let deadline = Date().addingTimeInterval(120)
        while h.controller.steadyStateAllocations.cycles < 10_000 && Date() < deadline {
            if let r = try? HTTPExchange.send("GET", "/metrics", port: port), r.status == 200 { scrapes += 1 }
            try await Task.sleep(for: .milliseconds(50))
        }
        await server.stop()
        let (allocations, cycles) = h.controller.steadyStateAllocations
        #expect(cycles >= 10_000)
        #expect(scrapes >= 10, "scraped throughout the counted window")
        #expect(allocations == 0, "\(allocations) heap allocations on the cycle thread in \(cycles) steady-state cycles with \(scrapes) scrapes")
    }
}
