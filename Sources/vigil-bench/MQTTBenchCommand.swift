import ArgumentParser
import HIL
import MQTT
import CommandSupport

/// `vigil-bench mqtt-transport`: publish → subscribe latency of `MosquittoClient` against
/// `mosquitto_pub` on the same loopback broker in the same run (see `MQTTTransportBench`).
struct MQTTTransportBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt-transport",
        abstract: "Publish → mosquitto_sub latency p50/p99 on a loopback Mosquitto: MosquittoClient against mosquitto_pub -l, and their ratio.")

    @Option(help: "Messages per round and publisher.")
    var messages = 2000
    @Option(help: "Rounds (the publishers alternate).")
    var rounds = 3
    @Option(help: "Pause between messages, in microseconds.")
    var intervalMicroseconds: UInt32 = 500

    func run() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        try MQTTTransportBench(broker: broker, messages: messages, intervalMicroseconds: intervalMicroseconds).run(rounds: rounds)
    }
}

/// `vigil-bench mqtt`: the Sparkplug publish path on a loopback Mosquitto, each figure with its
/// reference measured in the same run (see `MQTTBench`).
struct MQTTBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt",
        abstract: "Sparkplug publish path on a loopback Mosquitto: cycle → subscriber latency against mosquitto_pub, messages/s, many edge nodes, cycle lateness with MQTT on and off.")

    @Option(help: "Parts to run, comma-separated: latency, rate, fleet, lateness.")
    var only = "latency,rate,fleet,lateness"
    @Option(help: "Rounds of the latency and lateness parts (reference and Vigil alternate).")
    var rounds = 2
    @Option(help: "Cycle period of the controller, in milliseconds (the demo plant's is 10).")
    var periodMs = 10
    @Option(help: "Stepped values timed per round and sampling interval (latency, cycle → subscriber).")
    var samples = 60
    @Option(help: "Messages per round for mosquitto_pub and for EdgeNodeCore.step (latency), one per millisecond.")
    var messages = 1000
    @Option(help: "Seconds of the messages/s part.")
    var rateSeconds = 5.0
    @Option(help: "Edge nodes in the fleet part.")
    var nodes = 100
    @Option(help: "Steps per second of each fleet edge node.")
    var hertz = 10.0
    @Option(help: "Seconds of the fleet part.")
    var fleetSeconds = 30.0
    @Option(help: "Cycles per side and round of the lateness part.")
    var latenessCycles: UInt64 = 1000

    func run() throws {
        let parts = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        Shutdown.install()
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let bench = MQTTBench(broker: broker)
        print("vigil-bench mqtt: Mosquitto on \(broker.url), libmosquitto \(MosquittoClient.libraryVersion); QoS 1; one MosquittoClient subscriber times every message")
        if parts.contains("latency") { try latency(bench) }
        if parts.contains("rate") { try rate(bench) }
        if parts.contains("fleet") { try fleet(bench) }
        if parts.contains("lateness") { try lateness(bench) }
    }

    private func latency(_ bench: MQTTBench) throws {
        let intervals = periodMs > 1 ? [periodMs, 1] : [1]
        var reference = MQTTBench.Latency(samplesNanoseconds: [], lost: 0)
        var core = reference
        var fromCycle = Array(repeating: reference, count: intervals.count), upper = fromCycle, lower = fromCycle
        var snapshotCosts: [UInt64] = [], timingCosts: [UInt64] = [], offGrid = 0
        for round in 0..<rounds {
            let r = try bench.reference(messages: messages, intervalMicroseconds: 1000, tag: "\(round)")
            let c = try bench.corePath(messages: messages, intervalMicroseconds: 1000, tag: "\(round)")
            reference.add(r)
            core.add(c)
            var line = String(format: "  round %d: mosquitto_pub p50/p99 %.0f/%.0f µs; EdgeNodeCore.step %.0f/%.0f µs", round + 1, r.p50, r.p99, c.p50, c.p99)
            for (i, interval) in intervals.enumerated() {
                let e = try bench.endToEnd(periodMilliseconds: periodMs, publishIntervalMilliseconds: interval, samples: samples, tag: "\(round)-\(interval)")
                fromCycle[i].add(e.fromCycle)
                upper[i].add(e.upper)
                lower[i].add(e.lower)
                snapshotCosts += e.snapshotNanoseconds
                timingCosts += e.timingNanoseconds
                offGrid += e.offGrid
                line += String(format: "; cycle → subscriber @ %d ms sampling %.0f/%.0f µs", interval, e.fromCycle.p50, e.fromCycle.p99)
            }
            print(line)
        }
        print(String(format: "  latency to a MosquittoClient subscriber on loopback, QoS 1, %d rounds:", rounds))
        print(String(format: "    reference mosquitto_pub -l --nodelay → subscriber: p50 %.0f µs, p99 %.0f µs (%d messages, %d lost)",
                     reference.p50, reference.p99, reference.samplesNanoseconds.count, reference.lost))
        print(String(format: "    EdgeNodeCore.step (changed sample) → subscriber:   p50 %.0f µs, p99 %.0f µs (%d lost) → ratio p50 %.2f, p99 %.2f",
                     core.p50, core.p99, core.lost, core.p50 / reference.p50, core.p99 / reference.p99))
        for (i, interval) in intervals.enumerated() {
            print(String(format: "    cycle that read the value → subscriber, period %d ms, publish_interval_ms %d: p50 %.0f µs, p99 %.0f µs "
                         + "(%d values, %d lost) → ratio p50 %.1f, p99 %.1f; watcher bracket p50 %.0f–%.0f µs",
                         periodMs, interval, fromCycle[i].p50, fromCycle[i].p99, fromCycle[i].samplesNanoseconds.count, fromCycle[i].lost,
                         fromCycle[i].p50 / reference.p50, fromCycle[i].p99 / reference.p99, lower[i].p50, upper[i].p50))
        }
        let costs = MQTTBench.Latency(samplesNanoseconds: snapshotCosts, lost: 0)
        let timing = MQTTBench.Latency(samplesNanoseconds: timingCosts, lost: 0)
        print(String(format: "    one Controller.snapshot(), which the edge thread takes per pass: p50 %.0f µs, p99 %.0f µs, of which its timing summary "
                     + "(Controller.timing) p50 %.0f µs; %d values placed by the watcher, not the cycle grid",
                     costs.p50, costs.p99, timing.p50, offGrid))
    }

    private func rate(_ bench: MQTTBench) throws {
        let t = try bench.throughput(seconds: rateSeconds, window: 1000)
        print(String(format: "  messages/s one edge node sustains (EdgeNodeCore stepped flat out, every metric of the demo plant changing, QoS 1, "
                     + "≤ 1000 not yet at the subscriber): %.0f messages/s, %.0f metrics/s, %.0f steps/s over %.1f s; published %d, received %d, lost %d",
                     Double(t.received) / t.seconds, Double(t.metrics) / t.seconds, Double(t.steps) / t.seconds, t.seconds, t.published, t.received,
                     max(0, t.published - t.received)))
    }

    private func fleet(_ bench: MQTTBench) throws {
        let f = try bench.fleet(nodes: nodes, hertz: hertz, seconds: fleetSeconds)
        print(String(format: "  %d edge nodes (one EdgeNodeCore and connection each) at %.0f Hz for %.0f s on one broker: published %d (%d of them from the outbox), subscriber on spBv1.0/# "
                     + "received %d, missing %d, duplicates %d; step → subscriber p50 %.0f µs, p99 %.0f µs, max %.0f µs; late ticks %d",
                     nodes, hertz, fleetSeconds, f.expected, f.fromOutbox, f.received, f.missing, f.duplicates, f.latency.p50, f.latency.p99,
                     f.latency.percentileMicroseconds(1.0), f.lateTicks))
    }

    private func lateness(_ bench: MQTTBench) throws {
        let results = try bench.lateness(periodMilliseconds: periodMs, cycles: latenessCycles, rounds: rounds)
        var p50: [Double] = [], p99: [Double] = []
        for (i, r) in results.enumerated() {
            p50.append(r.on.latenessP50Microseconds / r.off.latenessP50Microseconds)
            p99.append(r.on.latenessP99Microseconds / r.off.latenessP99Microseconds)
            print(String(format: "  round %d: MQTT off p50/p99/max %.0f/%.0f/%.0f µs; on (%d published) %.0f/%.0f/%.0f µs",
                         i + 1, r.off.latenessP50Microseconds, r.off.latenessP99Microseconds, r.off.latenessMaxMicroseconds, r.published,
                         r.on.latenessP50Microseconds, r.on.latenessP99Microseconds, r.on.latenessMaxMicroseconds))
        }
        print(String(format: "  cycle lateness @ %d ms, the same controller with its edge node publishing every period and without, %llu cycles × %d rounds: "
                     + "on/off p50 %.2f (%.2f–%.2f), p99 %.2f (%.2f–%.2f)",
                     periodMs, latenessCycles, rounds, median(p50), p50.min()!, p50.max()!, median(p99), p99.min()!, p99.max()!))
    }
}

extension MQTTTransportBench.Latency {
    mutating func add(_ other: Self) {
        samplesNanoseconds += other.samplesNanoseconds
        lost += other.lost
    }
}
