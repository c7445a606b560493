import Foundation
import VigilCore
import Config
import HIL
import Fieldbus
import Journal
import Runtime
import CAllocCounter
import CommandSupport
import VigilMetrics

/// The cost of the Prometheus exporter to the scan cycle: the demo plant's cycle with metrics off,
/// then on and scraped every 100 ms over loopback HTTP, alternating within each round so both sides
/// share the machine's load; lateness and compute percentiles, per-round ratios, allocations per cycle.
extension CycleBench {
    struct MetricsRound {
        var timing: CycleTimingSummary
        var allocationsPerCycle: Double
        var scrapes: Int
        var scrapeFailures: Int
    }

    /// `fifoPriority`: run the cycle thread under SCHED_FIFO at this priority (as a plant would), on both sides.
    func metricsCost(fifoPriority: Int? = nil) throws {
        for periodMicroseconds in [1000, 10_000] {
            var (plant, board) = try demoPlant(periodMicroseconds: periodMicroseconds)
            plant.cycle.realtime.schedFIFOPriority = fifoPriority
            let cycles: UInt64 = periodMicroseconds == 1000 ? 10_000 : 3000
            var p50Ratios: [Double] = [], p99Ratios: [Double] = [], durationP99Ratios: [Double] = [], lines: [String] = []
            var allocations = 0.0, scrapes = 0, failures = 0
            for _ in 0..<rounds {
                let off = try runWithMetrics(plant, board: board, cycles: cycles, metrics: false)
                let on = try runWithMetrics(plant, board: board, cycles: cycles, metrics: true)
                p50Ratios.append(on.timing.latenessP50Microseconds / off.timing.latenessP50Microseconds)
                p99Ratios.append(on.timing.latenessP99Microseconds / off.timing.latenessP99Microseconds)
                durationP99Ratios.append(on.timing.durationP99Microseconds / off.timing.durationP99Microseconds)
                allocations = max(allocations, on.allocationsPerCycle)
                scrapes += on.scrapes
                failures += on.scrapeFailures
                lines.append(String(format: "lateness p50/p99 off %.1f/%.1f µs, on %.1f/%.1f µs; compute p50/p99 off %.1f/%.1f µs, on %.1f/%.1f µs; %d scrapes",
                                    off.timing.latenessP50Microseconds, off.timing.latenessP99Microseconds,
                                    on.timing.latenessP50Microseconds, on.timing.latenessP99Microseconds,
                                    off.timing.durationP50Microseconds, off.timing.durationP99Microseconds,
                                    on.timing.durationP50Microseconds, on.timing.durationP99Microseconds, on.scrapes))
            }
            let policy = fifoPriority.map { "SCHED_FIFO \($0)" } ?? "SCHED_OTHER"
            print(String(format: "  metrics on (scraped every 100 ms) / off @ %d ms (demo plant, ", periodMicroseconds / 1000) + policy + String(format: ", %llu cycles × %d rounds): lateness p50 %.2f (%.2f–%.2f), "
                         + "p99 %.2f (%.2f–%.2f); compute p99 %.2f; allocations/cycle with metrics %.4f; %d scrapes, %d failed",
                         cycles, rounds, median(p50Ratios), p50Ratios.min()!, p50Ratios.max()!,
                         median(p99Ratios), p99Ratios.min()!, p99Ratios.max()!, median(durationP99Ratios), allocations, scrapes, failures))
            for l in lines { print("    " + l) }
        }
    }

    /// `runController` with, when `metrics`, the exporter attached and served on a loopback port and a
    /// scraper thread fetching it every 100 ms through the counted window.
    private func runWithMetrics(_ plant: PlantConfig, board: BoardConfig?, cycles: UInt64, metrics: Bool) throws -> MetricsRound {
        let clock = SystemMonotonicClock()
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: nil, seed: 1, clock: clock)
        defer { rig.stop() }
        let gpio = try board.flatMap { b -> GPIOPlant? in
            let hasGPIO = rig.plant.sensors.contains { if case .gpio = $0.source { true } else { false } }
            guard hasGPIO else { return nil }
            return try GPIOPlant(config: rig.plant, board: SimulatedGPIO.board(for: b, boardFile: "bench", plant: rig.plant, clock: clock).0, clock: clock)
        }
        let path = NSTemporaryDirectory() + "vigil-bench-metrics-\(getpid()).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let controller = try Controller(plant: rig.plant, board: board, gpio: gpio, journal: try Journal(path: path), logger: logger,
                                        notifier: nil, allocationCounter: vigil_thread_allocations)
        try controller.start()
        defer { controller.stop() }
        _ = controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000)

        var server: MetricsServer?, collector: MetricsCollector?
        let scraper = Scraper()
        if metrics {
            let c = try MetricsCollector(controller: controller, build: BuildInfo(version: "bench"))
            c.attach()
            let s = try MetricsServer(collector: c, config: MetricsConfig(enabled: true, listen: MetricsListenAddress(host: "127.0.0.1", port: 0)))
            let port = try s.startBlocking()
            collector = c
            server = s
            scraper.start(port: port)
        }
        defer {
            scraper.stop()
            server?.stopBlocking()
            collector?.detach()
        }
        let period = UInt64(plant.cycle.periodMicroseconds) * 1000
        Shutdown.sleep(nanoseconds: 200 * period)
        controller.resetTiming()
        let start = controller.timing.cycles
        while controller.timing.cycles - start < cycles && !Shutdown.isRequested {
            Shutdown.sleep(nanoseconds: 50 * period)
        }
        let timing = controller.timing
        let (allocations, counted) = controller.steadyStateAllocations
        return MetricsRound(timing: timing, allocationsPerCycle: counted > 0 ? Double(allocations) / Double(counted) : .nan,
                            scrapes: scraper.done.load(ordering: .relaxed), scrapeFailures: scraper.failed.load(ordering: .relaxed))
    }
}

import Synchronization

/// A thread that GETs /metrics on a loopback port every 100 ms, as Prometheus would (faster).
final class Scraper: Sendable {
    let done = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(true)

    func start(port: UInt16) {
        finished.store(false, ordering: .relaxed)
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                if Self.scrape(port: port) { done.add(1, ordering: .relaxed) } else { failed.add(1, ordering: .relaxed) }
                usleep(100_000)
            }
            finished.store(true, ordering: .releasing)
        }
        thread.start()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        while !finished.load(ordering: .acquiring) { usleep(1_000) }
    }

    /// One `GET /metrics`; true on a 200 with a body.
    static func scrape(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { return false }
        var received: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            received += chunk[0..<n]
        }
        return received.starts(with: Array("HTTP/1.1 200".utf8)) && received.count > 1000
    }
}
