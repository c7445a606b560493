import Foundation
import Logging
import SwiftProtobuf
import VigilCore
import Config
import Fieldbus
import HIL
import Journal
import MQTT
import Runtime
import Sparkplug
import EdgeNode
import CommandSupport
import CAllocCounter
#if canImport(Glibc)
import Glibc
#endif

/// The Sparkplug publish path against `mosquitto_pub`, on one loopback Mosquitto, all in one run:
/// - latency from the cycle that read a value to a subscriber (a real controller on the simulated rig
///   with its `EdgeNodeService`), and of `EdgeNodeCore.step` alone, each as a ratio to
///   `mosquitto_pub -l` → the same subscriber;
/// - messages and metrics per second one `EdgeNodeCore` sustains with every metric changing;
/// - many edge nodes (one `EdgeNodeCore` and connection each) at a fixed rate: loss and latency;
/// - the cycle's wake-up lateness with the edge node publishing and without, alternating.
///
/// Every latency is taken at one sink: a `MosquittoClient` subscriber that reads `CLOCK_MONOTONIC` as
/// each message reaches its callback. QoS 1 throughout (Vigil's default for data).
struct MQTTBench {
    typealias Latency = MQTTTransportBench.Latency

    enum Failure: Error, CustomStringConvertible {
        case setup(String)
        case client(String)
        var description: String {
            switch self {
            case .setup(let s): return "benchmark setup failed: \(s)"
            case .client(let s): return "MQTT client failed: \(s)"
            }
        }
    }

    let broker: MosquittoBroker
    let logger = makeLogger("vigil-bench", level: .critical)
    var address: MQTTBrokerAddress { MQTTBrokerAddress(scheme: .mqtt, host: broker.host, port: broker.port) }

    static func now() -> UInt64 { MQTTTransportBench.monotonicNanoseconds() }
    static func wallMilliseconds() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    // MARK: Reference

    /// `mosquitto_pub -l -q 1 --nodelay` → the timed subscriber: `messages` lines, one every `intervalMicroseconds`.
    func reference(messages: Int, intervalMicroseconds: UInt32, tag: String) throws -> Latency {
        let topic = "vigil/bench/ref/\(tag)"
        let received = Shared<[Int: UInt64]>([:])
        let warm = Shared(false)
        let subscriber = try TimedSubscriber(address: address, filter: topic, name: "vigil-bench-ref") { m, at in
            let parts = String(decoding: m.payload, as: UTF8.self).split(separator: " ")
            if parts.first == "warm" { warm.with { $0 = true }; return }
            guard parts.count == 2, let seq = Int(parts[0]), let sent = UInt64(parts[1]), at >= sent else { return }
            received.with { $0[seq] = at - sent }
        }
        defer { subscriber.close() }
        let pub = try MQTTTransportBench.Child(["/usr/bin/mosquitto_pub", "-h", broker.host, "-p", "\(broker.port)", "-t", topic,
                                                "-q", "1", "-l", "--nodelay"], stdinPipe: true)
        defer {
            pub.closeStdin()
            pub.wait(seconds: 10)
            close(pub.stdoutFD)
        }
        let ready = MQTTTransportBench.poll(seconds: 20) {
            try? pub.writeLine("warm")
            usleep(50_000)
            return warm.with { $0 }
        }
        guard ready else { throw Failure.setup("the subscriber received nothing from mosquitto_pub") }
        for seq in 0..<messages {
            try pub.writeLine("\(seq) \(Self.now())")
            usleep(intervalMicroseconds)
        }
        _ = MQTTTransportBench.poll(seconds: 10) { received.with { $0.count } >= messages }
        let samples = received.with { Array($0.values) }
        return Latency(samplesNanoseconds: samples, lost: messages - samples.count)
    }

    // MARK: 1. Reading's cycle → subscriber

    /// What `endToEnd` measured (see there).
    struct EndToEnd {
        /// From the deadline of the cycle that first carried the value.
        var fromCycle: Latency
        /// From the watcher's last read that still showed the old value (before the cycle completed).
        var upper: Latency
        /// From the watcher's first read that showed the new value (after the cycle completed).
        var lower: Latency
        /// What one `Controller.snapshot()` cost the watcher, and one `Controller.timing` (part of it).
        var snapshotNanoseconds: [UInt64]
        var timingNanoseconds: [UInt64]
        /// Values whose cycle could not be placed on the cycle grid (skipped ticks): timed from `upper`'s start instead.
        var offGrid: Int
        var counters: EdgeNodeCounters
    }

    /// A controller on the demo plant (period `periodMilliseconds`, served by an in-process rig) with its
    /// `EdgeNodeService` sampling every `publishIntervalMilliseconds`. The bench steps one simulated
    /// transmitter (`pump-plc/pump1_current`) between two values; a watcher thread reads the controller's
    /// snapshot until the new value is on its sensor board, which the cycle publishes as it completes.
    /// The cycle that first carried it woke at the last cycle deadline (on the grid `epoch + k × period`,
    /// which skipped ticks keep) before the watcher's first read showing it: the watcher's reads are far
    /// less than a period apart. The interval runs from that deadline (so it also holds the cycle's own
    /// lateness and compute, tens of µs) to the DDATA carrying the value reaching the subscriber. The watcher's last read still showing
    /// the old value (`upper`) and first read showing the new one (`lower`) bracket it as a check.
    /// Device poll time is not in it (the value is already in the cycle); the edge thread's sampling
    /// wait, its snapshot, the Sparkplug encoding and the broker are.
    func endToEnd(periodMilliseconds: Int, publishIntervalMilliseconds: Int, samples: Int, tag: String) throws -> EndToEnd {
        let (rig, controller, cleanup) = try startController(periodMilliseconds: periodMilliseconds)
        defer { cleanup() }
        guard let s = rig.plant.sensors.firstIndex(where: {
            if case .point(let d, let p) = $0.source { return d == "pump-plc" && p == "pump1_current" }
            return false
        }) else { throw Failure.setup("the demo plant has no sensor on pump-plc/pump1_current") }
        let nodeID = "e2e-\(tag)"
        let layout = try SparkplugLayout(plant: rig.plant, groupID: "bench", edgeNodeID: nodeID)
        guard let alias = layout.devices.flatMap(\.metrics).first(where: { $0.name == "Sensors/\(rig.plant.sensors[s].id)/Value" })?.alias else {
            throw Failure.setup("no Sparkplug metric for sensor \(rig.plant.sensors[s].id)")
        }
        let arrivals = Shared<[(value: Double, at: UInt64)]>([])
        let subscriber = try TimedSubscriber(address: address, filter: "spBv1.0/bench/DDATA/\(nodeID)/pump-plc", name: "vigil-bench-e2e") { m, at in
            guard let v = Self.decode(m.payload, alias: alias).value else { return }
            arrivals.with { $0.append((v, at)) }
        }
        defer { subscriber.close() }
        let config = MQTTConfig(brokers: [broker.url], groupID: "bench", edgeNodeID: nodeID, clientID: "vigil-bench-e2e-\(getpid())-\(tag)",
                                publishIntervalMilliseconds: publishIntervalMilliseconds)
        let service = try EdgeNodeService(controller: controller, config: config, credentials: nil, logger: logger, hostWrite: nil)
        try service.start()
        defer { service.stop() }
        guard MQTTTransportBench.poll(seconds: 20, { service.connectedBroker != nil }) else { throw Failure.setup("the edge node did not connect") }
        Shutdown.sleep(nanoseconds: 300_000_000) // births out, first DDATA
        let key = PointKey(device: "pump-plc", point: "pump1_current")
        defer { rig.model.clearOverride(for: key) }
        var fromCycle: [UInt64] = [], upper: [UInt64] = [], lower: [UInt64] = [], costs: [UInt64] = [], timingCosts: [UInt64] = []
        var lost = 0, offGrid = 0
        let period = controller.periodNanoseconds, epoch = controller.epochNanoseconds
        for k in 0..<(samples + 1) {
            let target = k % 2 == 0 ? 11.30 : 11.70
            arrivals.with { $0.removeAll() }
            rig.model.setOverride(PointOverride(stuckAt: target), for: key)
            let stepped = Self.now()
            var lastOld = stepped, seen: UInt64?, readOld = false
            while Self.now() - stepped < 3_000_000_000 {
                let before = Self.now()
                let snapshot = controller.snapshot()
                let after = Self.now()
                costs.append(after - before)
                if abs(snapshot.sensors[s].value - target) < 0.005 { seen = after; break }
                lastOld = before
                readOld = true
                usleep(50)
            }
            guard let seen, readOld else { lost += 1; continue }
            // The last deadline before the first read showing the value; if it is more than half a
            // period before the last read showing the old one, the grid does not place the cycle.
            let deadline = epoch &+ (seen &- epoch) / period &* period
            var cycleStart = deadline
            if deadline &+ period / 2 < lastOld {
                cycleStart = lastOld
                offGrid += 1
            }
            var received: UInt64?
            _ = MQTTTransportBench.poll(seconds: 3) {
                received = arrivals.with { $0.first { abs($0.value - target) < 0.005 }?.at }
                return received != nil
            }
            let timingStart = Self.now()
            _ = controller.timing
            timingCosts.append(Self.now() - timingStart)
            guard k > 0 else { continue } // the first step is warm-up
            guard let received else { lost += 1; continue }
            upper.append(received &- lastOld)
            fromCycle.append(received &- cycleStart)
            lower.append(received > seen ? received - seen : 0)
        }
        return EndToEnd(fromCycle: Latency(samplesNanoseconds: fromCycle, lost: lost),
                        upper: Latency(samplesNanoseconds: upper, lost: lost), lower: Latency(samplesNanoseconds: lower, lost: lost),
                        snapshotNanoseconds: costs, timingNanoseconds: timingCosts, offGrid: offGrid, counters: service.counters)
    }

    /// `EdgeNodeCore.step` with a changed sample → subscriber: the clock is read just before the step
    /// (so the interval covers finding the change, encoding, publishing and the broker), one step every
    /// `intervalMicroseconds`.
    func corePath(messages: Int, intervalMicroseconds: UInt32, tag: String) throws -> Latency {
        let directory = tempDirectory(tag)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try BenchNode(bench: self, plant: try Self.demoPlant(), groupID: "bench", nodeID: "core-\(tag)", directory: directory)
        defer { node.close() }
        let alias = node.sensorAlias(0)
        let device = node.sensorDevice(0)
        let received = Shared<[Int: UInt64]>([:])
        let subscriber = try TimedSubscriber(address: address, filter: "spBv1.0/bench/DDATA/core-\(tag)/\(device)", name: "vigil-bench-core") { m, at in
            guard let v = Self.decode(m.payload, alias: alias).value, v >= 0 else { return }
            received.with { $0[Int(v)] = at }
        }
        defer { subscriber.close() }
        try node.connect()
        var sent = [UInt64](repeating: 0, count: messages)
        for k in 0..<messages {
            node.sample.sensorValues[0] = Double(k)
            sent[k] = Self.now()
            node.step()
            usleep(intervalMicroseconds)
        }
        _ = MQTTTransportBench.poll(seconds: 10) { node.step(); return received.with { $0.count } >= messages }
        let samples = received.with { r in r.compactMap { k, at in k < messages && at >= sent[k] ? at - sent[k] : nil } }
        return Latency(samplesNanoseconds: samples, lost: messages - samples.count)
    }

    // MARK: 2. Throughput

    struct Throughput {
        var steps: Int
        var published: Int
        var received: Int
        var metrics: Int
        var seconds: Double
    }

    /// One `EdgeNodeCore` stepped as fast as it goes with every metric of the demo plant changing each
    /// step (QoS 1), at most `window` messages published and not yet at the subscriber; the rate is what
    /// the subscriber received over the time to its last message.
    func throughput(seconds: Double, window: Int) throws -> Throughput {
        let directory = tempDirectory("rate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try BenchNode(bench: self, plant: try Self.demoPlant(), groupID: "bench", nodeID: "rate", directory: directory)
        defer { node.close() }
        let counts = Shared((messages: 0, metrics: 0, last: UInt64(0)))
        let subscriber = try TimedSubscriber(address: address, filter: "spBv1.0/bench/+/rate/#", name: "vigil-bench-rate") { m, at in
            guard m.topic.contains("DATA/") else { return } // NDATA, DDATA; not births
            let metrics = Self.decode(m.payload, alias: 0).metrics
            counts.with { $0.messages += 1; $0.metrics += metrics; $0.last = at }
        }
        defer { subscriber.close() }
        try node.connect()
        let start = Self.now()
        let end = start + UInt64(seconds * 1e9)
        var steps = 0
        while Self.now() < end {
            if node.core.counters.publishedLive + node.core.counters.publishedFromOutbox - counts.with({ $0.messages }) >= window {
                node.pump()
                sched_yield()
                continue
            }
            steps += 1
            node.changeEverything(step: steps)
            node.step()
        }
        let published = node.core.counters.publishedLive + node.core.counters.publishedFromOutbox
        _ = MQTTTransportBench.poll(seconds: 20) { node.pump(); return counts.with { $0.messages } >= published }
        let c = counts.with { $0 }
        return Throughput(steps: steps, published: published, received: c.messages, metrics: c.metrics,
                          seconds: Double(c.last - start) / 1e9)
    }

    // MARK: 3. Many edge nodes

    struct Fleet {
        var expected: Int
        /// Of `expected`, sent through the journal's outbox (as history) rather than live.
        var fromOutbox: Int
        var received: Int
        var missing: Int
        var duplicates: Int
        var latency: Latency
        var lateTicks: Int
    }

    /// `nodes` edge nodes, each its own `EdgeNodeCore`, `MosquittoClient` connection, journal and edge
    /// node id, stepped from one thread at `hertz` for `seconds`: each step changes one reading (the step
    /// number) so each node publishes one DDATA per step. A subscriber on `spBv1.0/#` checks every
    /// (node, step) arrives and times it from just before that node's step.
    func fleet(nodes count: Int, hertz: Double, seconds: Double) throws -> Fleet {
        let plant = try Self.demoPlant()
        let directory = tempDirectory("fleet")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var nodes: [BenchNode] = []
        defer { for n in nodes { n.close() } }
        for i in 0..<count {
            nodes.append(try BenchNode(bench: self, plant: plant, groupID: "fleet", nodeID: String(format: "node-%03d", i), directory: directory))
        }
        let alias = nodes[0].sensorAlias(0)
        let steps = Int(seconds * hertz)
        let arrivals = Shared<[(node: Int, step: Int, at: UInt64)]>([])
        arrivals.with { $0.reserveCapacity(count * steps) }
        let subscriber = try TimedSubscriber(address: address, filter: "spBv1.0/#", name: "vigil-bench-fleet") { m, at in
            let parts = m.topic.split(separator: "/")
            guard parts.count >= 4, parts[1] == "fleet", parts[2] == "DDATA" || parts[2] == "NDATA",
                  parts[3].hasPrefix("node-"), let node = Int(parts[3].dropFirst(5)) else { return }
            let v = Self.decode(m.payload, alias: alias).value ?? -1
            arrivals.with { $0.append((node, v >= 0 ? Int(v) : -1, at)) }
        }
        defer { subscriber.close() }
        for n in nodes { n.sample.sensorValues[0] = -1 }
        for n in nodes { n.core.step(nowNanoseconds: Self.now(), sample: n.sample, events: [], eventCursor: nil) }
        guard MQTTTransportBench.poll(seconds: 60, { nodes.allSatisfy { $0.pump(); return $0.core.connectedBroker != nil } }) else {
            throw Failure.setup("not every edge node connected")
        }
        Shutdown.sleep(nanoseconds: 500_000_000) // births
        arrivals.with { $0.removeAll(keepingCapacity: true) }
        var sent = [UInt64](repeating: 0, count: count * steps)
        let period = UInt64(1e9 / hertz)
        var tick = Self.now()
        var lateTicks = 0
        for k in 0..<steps {
            tick += period
            let now = Self.now()
            if now < tick { Shutdown.sleep(nanoseconds: tick - now) } else { lateTicks += 1 }
            for (i, n) in nodes.enumerated() {
                n.pump()
                n.sample.sensorValues[0] = Double(k)
                sent[i * steps + k] = Self.now()
                n.step()
            }
        }
        let expected = nodes.reduce(0) { $0 + $1.core.counters.publishedLive + $1.core.counters.publishedFromOutbox }
        _ = MQTTTransportBench.poll(seconds: 30) {
            for n in nodes { n.pump() }
            return arrivals.with { $0.count } >= expected
        }
        let got = arrivals.with { $0 }
        var seen = Set<Int>(), duplicates = 0, latencies: [UInt64] = []
        for a in got where a.step >= 0 && a.step < steps && a.node < count {
            let key = a.node * steps + a.step
            if !seen.insert(key).inserted { duplicates += 1; continue }
            if a.at >= sent[key] { latencies.append(a.at - sent[key]) }
        }
        let missing = count * steps - seen.count
        return Fleet(expected: expected, fromOutbox: nodes.reduce(0) { $0 + $1.core.counters.publishedFromOutbox }, received: got.count, missing: missing, duplicates: duplicates,
                     latency: Latency(samplesNanoseconds: latencies, lost: missing), lateTicks: lateTicks)
    }

    // MARK: 4. Lateness with MQTT on and off

    /// The same controller (demo plant at `periodMilliseconds`), rounds alternating without and with an
    /// `EdgeNodeService` publishing every period: the cycle's wake-up lateness over `cycles` cycles each.
    func lateness(periodMilliseconds: Int, cycles: UInt64, rounds: Int) throws -> [(off: CycleTimingSummary, on: CycleTimingSummary, published: Int)] {
        let (_, controller, cleanup) = try startController(periodMilliseconds: periodMilliseconds)
        defer { cleanup() }
        let period = UInt64(periodMilliseconds) * 1_000_000
        func measure() -> CycleTimingSummary {
            controller.resetTiming()
            let start = controller.timing.cycles
            while controller.timing.cycles - start < cycles && !Shutdown.isRequested { Shutdown.sleep(nanoseconds: 50 * period) }
            return controller.timing
        }
        var results: [(off: CycleTimingSummary, on: CycleTimingSummary, published: Int)] = []
        for round in 0..<rounds {
            let off = measure()
            let config = MQTTConfig(brokers: [broker.url], groupID: "bench", edgeNodeID: "late-\(round)",
                                    clientID: "vigil-bench-late-\(getpid())-\(round)", publishIntervalMilliseconds: periodMilliseconds)
            let service = try EdgeNodeService(controller: controller, config: config, credentials: nil, logger: logger, hostWrite: nil)
            try service.start()
            guard MQTTTransportBench.poll(seconds: 20, { service.connectedBroker != nil }) else {
                service.stop()
                throw Failure.setup("the edge node did not connect")
            }
            Shutdown.sleep(nanoseconds: 20 * period)
            let on = measure()
            let published = service.counters.publishedLive + service.counters.publishedFromOutbox
            service.stop()
            results.append((off, on, published))
        }
        return results
    }

    // MARK: Parts

    static func demoPlant() throws -> PlantConfig {
        try ConfigLoader.loadPlant(path: "configs/demo-pump-station.yaml").plant
    }

    func tempDirectory(_ tag: String) -> String {
        let path = NSTemporaryDirectory() + "vigil-bench-mqtt-\(getpid())-\(tag)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A controller on the demo plant served by an in-process rig, as `CycleBench` runs it, ready.
    func startController(periodMilliseconds: Int) throws -> (SimulatedRig, Controller, () -> Void) {
        let loaded = try ConfigLoader.loadPlant(path: "configs/demo-pump-station.yaml")
        var plant = loaded.plant
        plant.cycle.periodMicroseconds = periodMilliseconds * 1000
        let board = loaded.board
        let clock = SystemMonotonicClock()
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: nil, seed: 1, clock: clock)
        let gpio = try board.flatMap { b -> GPIOPlant? in
            let hasGPIO = rig.plant.sensors.contains { if case .gpio = $0.source { true } else { false } }
            guard hasGPIO else { return nil }
            return try GPIOPlant(config: rig.plant, board: SimulatedGPIO.board(for: b, boardFile: "bench", plant: rig.plant, clock: clock).0, clock: clock)
        }
        let path = NSTemporaryDirectory() + "vigil-bench-mqtt-\(getpid())-\(UInt64.random(in: 0..<UInt64.max)).sqlite"
        let controller = try Controller(plant: rig.plant, board: board, gpio: gpio, journal: try Journal(path: path), logger: logger,
                                        notifier: nil, allocationCounter: vigil_thread_allocations)
        try controller.start()
        _ = controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000)
        Shutdown.sleep(nanoseconds: 200 * UInt64(periodMilliseconds) * 1_000_000) // warm-up
        return (rig, controller, {
            controller.stop()
            rig.stop()
            for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) }
        })
    }

    /// A DATA payload's value of the metric with `alias` (nil when absent or undecodable) and its metric count.
    static func decode(_ payload: [UInt8], alias: UInt64) -> (value: Double?, metrics: Int) {
        guard let p = try? SparkplugPayload(serializedBytes: payload) else { return (nil, 0) }
        return (p.metrics.first { $0.alias == alias && alias != 0 }.map(\.doubleValue), p.metrics.count)
    }
}

/// One edge node driven by the bench: an `EdgeNodeCore` with its own `MosquittoClient` and journal,
/// stepped on the caller's thread; the client's events wait in an inbox until `pump()`.
final class BenchNode {
    let core: EdgeNodeCore
    let layout: SparkplugLayout
    let plant: PlantConfig
    var sample: EdgeSample
    private let client: MosquittoClient
    private let inbox: Shared<[MQTTEvent]>
    private let journalPath: String

    init(bench: MQTTBench, plant: PlantConfig, groupID: String, nodeID: String, directory: String) throws {
        self.plant = plant
        let layout = try SparkplugLayout(plant: plant, groupID: groupID, edgeNodeID: nodeID)
        self.layout = layout
        let journalPath = directory + "/\(nodeID).sqlite"
        self.journalPath = journalPath
        let inbox = Shared<[MQTTEvent]>([])
        self.inbox = inbox
        let client = MosquittoClient(options: MQTTConnectOptions(clientID: "vigil-bench-\(getpid())-\(groupID)-\(nodeID)")) { e in
            inbox.with { $0.append(e) }
        }
        self.client = client
        core = try EdgeNodeCore(layout: layout, settings: EdgeNodeCore.Settings(brokers: [bench.address]), client: client,
                                journal: try Journal(path: journalPath), logger: bench.logger)
        sample = EdgeSample(timestamp: 0,
                            sensorValues: plant.sensors.indices.map { Double($0) + 1 },
                            sensorQualities: Array(repeating: "good", count: plant.sensors.count),
                            sensorHealth: Array(repeating: "healthy", count: plant.sensors.count),
                            groupValues: Array(repeating: 1, count: plant.redundancyGroups.count),
                            groupActiveSources: plant.redundancyGroups.map(\.primary),
                            outputs: Array(repeating: 0, count: plant.outputs.count))
    }

    /// The alias of sensor `i`'s value metric.
    func sensorAlias(_ i: Int) -> UInt64 {
        layout.devices.flatMap(\.metrics).first { $0.name == "Sensors/\(plant.sensors[i].id)/Value" }!.alias
    }

    /// The Sparkplug device that carries sensor `i`.
    func sensorDevice(_ i: Int) -> String {
        layout.devices.first { $0.metrics.contains { $0.name == "Sensors/\(plant.sensors[i].id)/Value" } }!.id
    }

    /// Hands the client's events to the core.
    func pump() {
        let events = inbox.with { q in defer { q.removeAll(keepingCapacity: true) }; return q }
        for e in events { core.handle(e, nowNanoseconds: MQTTBench.now()) }
    }

    func step() {
        pump()
        sample.timestamp = MQTTBench.wallMilliseconds()
        core.step(nowNanoseconds: MQTTBench.now(), sample: sample, events: [], eventCursor: nil)
    }

    /// Steps until connected (births published).
    func connect() throws {
        guard MQTTTransportBench.poll(seconds: 20, { step(); return core.connectedBroker != nil }) else {
            throw MQTTBench.Failure.setup("edge node \(layout.edgeNodeID) did not connect")
        }
        Shutdown.sleep(nanoseconds: 200_000_000)
        step()
    }

    /// Changes every metric of the sample: values, qualities, health, active sources, outputs, controller figures.
    func changeEverything(step k: Int) {
        let odd = k % 2 == 1
        for i in sample.sensorValues.indices {
            sample.sensorValues[i] = Double(k) + Double(i) / 100
            sample.sensorQualities[i] = odd ? "stale" : "good"
            sample.sensorHealth[i] = odd ? "suspect" : "healthy"
        }
        for g in sample.groupValues.indices {
            sample.groupValues[g] = Double(k) + Double(g) / 100
            let members = [plant.redundancyGroups[g].primary] + plant.redundancyGroups[g].backups
            sample.groupActiveSources[g] = members[k % members.count]
        }
        for o in sample.outputs.indices { sample.outputs[o] = Double(k % 1000) / 10 + Double(o) }
        sample.activeAlarms = k % 7
        sample.annunciatedAlarms = k % 5
        sample.trustScore = Double(k % 100) / 100
        sample.modelVersion = k
    }

    func close() {
        core.stop(timestamp: MQTTBench.wallMilliseconds())
        client.destroy()
        for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: journalPath + s) }
    }
}

/// A `MosquittoClient` subscriber that reads `CLOCK_MONOTONIC` as each message reaches its callback
/// (libmosquitto's network thread) and hands both to `onMessage`.
final class TimedSubscriber: Sendable {
    private final class Flags: Sendable {
        let connected = Shared(false)
        let subscribed = Shared(false)
    }
    private let client: MosquittoClient

    init(address: MQTTBrokerAddress, filter: String, name: String,
         onMessage: @escaping @Sendable (MQTTMessage, UInt64) -> Void) throws(MQTTBench.Failure) {
        let flags = Flags()
        client = MosquittoClient(options: MQTTConnectOptions(clientID: "\(name)-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))")) { event in
            let at = MQTTBench.now()
            switch event {
            case .message(let m): onMessage(m, at)
            case .connected: flags.connected.with { $0 = true }
            case .subscribed: flags.subscribed.with { $0 = true }
            default: break
            }
        }
        do { try client.connect(to: address, will: nil) } catch { throw .client("subscriber: \(error)") }
        guard MQTTTransportBench.poll(seconds: 20, { flags.connected.with { $0 } }) else { throw .client("subscriber: no connection to the broker") }
        do { _ = try client.subscribe(to: filter, qos: .atLeastOnce) } catch { throw .client("subscribe \(filter): \(error)") }
        guard MQTTTransportBench.poll(seconds: 20, { flags.subscribed.with { $0 } }) else { throw .client("subscribe \(filter): no answer") }
    }

    func close() { client.destroy() }
}

/// A value behind a lock, shared between the bench's threads and the clients' callbacks.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func with<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
