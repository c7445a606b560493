import Config
import EdgeNode
import Foundation
import Journal
import Logging
import MQTT
import Sparkplug
import Testing
import VigilCore

/// The edge node's logic over the in-memory broker, in virtual time, with a real journal: births,
/// report by exception, the will, fallback brokers, store-and-forward through an outage, a restart
/// with a full outbox, rebirth and host writes.
@Suite struct EdgeNodeCoreTests {
    static let plantText = """
        name: edge-test
        devices:
          - id: plc
            transport: tcp
            host: 127.0.0.1
            port: 502
            points:
              - { id: p, function: input, address: 0, type: float32, unit: bar }
              - { id: q, function: input, address: 2, type: float32, unit: m3/h }
              - { id: speed, function: holding, address: 10, type: uint16 }
        sensors:
          - { id: PT-1, device: plc, point: p, range: [0, 16], quantity: pressure }
          - { id: FT-1, device: plc, point: q, range: [0, 100], quantity: flow }
        outputs:
          - { id: pump-speed, device: plc, point: speed, initial: 0, safe: 0 }
        controls:
          - { id: pressure, input: PT-1, output: pump-speed, pid: { setpoint: 6, kp: 5, output_min: 0, output_max: 100 } }

        """

    static func plant() throws -> PlantConfig {
        let path = NSTemporaryDirectory() + "vigil-edge-\(UUID().uuidString).yaml"
        try plantText.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConfigLoader.loadPlant(path: path).plant
    }

    static let primary = MQTTBrokerAddress(scheme: .mqtt, host: "broker-a", port: 1883)
    static let fallback = MQTTBrokerAddress(scheme: .mqtt, host: "broker-b", port: 1883)

    /// A Sparkplug host on the broker: every message on `spBv1.0/#`, decoded.
    final class Subscriber: Sendable {
        let received = Locked<[(topic: String, payload: SparkplugPayload)]>([])
        let client: InMemoryMQTTClient

        init(brokers: [MQTTBrokerAddress: InMemoryBroker], at address: MQTTBrokerAddress) throws {
            let received = self.received
            client = InMemoryMQTTClient(options: MQTTConnectOptions(clientID: "host-\(address.host)"), brokers: brokers) { event in
                if case .message(let m) = event, let p = try? SparkplugPayload(serializedBytes: m.payload) {
                    received.withLock { $0.append((m.topic, p)) }
                }
            }
            try client.connect(to: address, will: nil)
            _ = try client.subscribe(to: "spBv1.0/#", qos: .atLeastOnce)
        }

        var messages: [(topic: String, payload: SparkplugPayload)] { received.withLock { $0 } }

        /// Every value of metric `name` in DATA messages (historical or not), in arrival order, its
        /// alias resolved from the births.
        func values(of name: String, historical: Bool? = nil) -> [SparkplugPayload.Metric] {
            var aliases: [UInt64: String] = [:]
            var out: [SparkplugPayload.Metric] = []
            for (topic, payload) in messages {
                for m in payload.metrics {
                    if topic.contains("BIRTH/"), m.hasAlias { aliases[m.alias] = m.name }
                    guard topic.contains("DATA/") else { continue }
                    let metricName = m.hasName ? m.name : aliases[m.alias]
                    if metricName == name, historical == nil || m.isHistorical == historical { out.append(m) }
                }
            }
            return out
        }
        func of(_ type: String) -> [SparkplugPayload] { messages.filter { $0.topic.contains("/\(type)/") }.map(\.payload) }
    }

    /// The edge node on its journal, stepped by hand; client events are queued as the service queues them.
    final class Rig {
        let journalDir = NSTemporaryDirectory() + "vigil-edge-\(UUID().uuidString)"
        let journal: Journal
        let core: EdgeNodeCore
        let client: InMemoryMQTTClient
        let inbox = Locked<[MQTTEvent]>([])
        let layout: SparkplugLayout
        var now: UInt64 = 1_000_000_000
        var wall: UInt64 = 1_800_000_000_000
        var pressure = 5.0
        var writes: [(String, Double)] = []

        init(brokers: [MQTTBrokerAddress: InMemoryBroker], order: [MQTTBrokerAddress] = [EdgeNodeCoreTests.primary],
             capacity: Int = 100_000, journalDir: String? = nil) throws {
            let dir = journalDir ?? self.journalDir
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            journal = try Journal(path: dir + "/journal.sqlite")
            layout = try SparkplugLayout(plant: EdgeNodeCoreTests.plant(), groupID: "plant-a", edgeNodeID: "station-1",
                                         writableOutputs: ["pump-speed"])
            let inbox = self.inbox
            client = InMemoryMQTTClient(options: MQTTConnectOptions(clientID: "vigil-station-1"), brokers: brokers) { e in
                inbox.withLock { $0.append(e) }
            }
            core = try EdgeNodeCore(layout: layout, settings: .init(brokers: order, outboxCapacity: capacity,
                                                                    reconnect: ReconnectPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(4))),
                                    client: client, journal: journal, logger: Logger(label: "test"))
            core.hostWrite = { [unowned self] output, value, _ in
                writes.append((output, value))
                return value > 50 ? "refused: above 50 in this test" : nil
            }
        }

        func sample() -> EdgeSample {
            EdgeSample(timestamp: wall, sensorValues: [pressure, 20], sensorQualities: ["good", "good"], sensorHealth: ["healthy", "healthy"],
                       groupValues: [], groupActiveSources: [], outputs: [12])
        }

        /// Client events, then one step 100 ms later, then the events that step caused.
        func pass(events: [EdgeEvent] = []) {
            handleQueued()
            now += 100_000_000
            wall += 100
            core.step(nowNanoseconds: now, sample: sample(), events: events, eventCursor: nil)
            handleQueued()
        }

        func handleQueued() {
            while true {
                let queued = inbox.withLock { q in defer { q.removeAll() }; return q }
                if queued.isEmpty { return }
                for e in queued { core.handle(e, nowNanoseconds: now) }
            }
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: journalDir) }
    }

    @Test func birthOnConnectThenOnlyWhatChanged() throws {
        let broker = InMemoryBroker()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        let rig = try Rig(brokers: [Self.primary: broker])
        defer { rig.cleanup() }
        rig.pass()
        let births = host.messages
        #expect(births.map(\.topic) == ["spBv1.0/plant-a/NBIRTH/station-1", "spBv1.0/plant-a/DBIRTH/station-1/plc"])
        #expect(births.map(\.payload.seq) == [0, 1])
        #expect(births[0].payload.metrics.contains { $0.name == "bdSeq" })
        // The first pass sampled while connecting: that sample follows the birth as history.
        rig.pass()
        #expect(host.values(of: "Sensors/PT-1/Value").map(\.isHistorical) == [true])
        let settled = host.messages.count
        rig.pass()
        #expect(host.messages.count == settled, "nothing changed, nothing sent")
        rig.pressure = 5.5
        rig.pass()
        let data = try #require(host.of("DDATA").last)
        #expect(data.seq == UInt64(settled))
        #expect(data.metrics.count == 1)
        #expect(host.values(of: "Sensors/PT-1/Value", historical: false).map(\.doubleValue) == [5.5])
    }

    @Test func anAbruptDropPublishesTheWillWithTheSessionsBdSeq() throws {
        let broker = InMemoryBroker()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        let rig = try Rig(brokers: [Self.primary: broker])
        defer { rig.cleanup() }
        rig.pass()
        let bdSeq = try #require(host.of("NBIRTH").first?.metrics.first { $0.name == "bdSeq" }?.longValue)
        broker.dropConnection(clientID: "vigil-station-1")
        let death = try #require(host.of("NDEATH").first)
        #expect(death.metrics.first { $0.name == "bdSeq" }?.longValue == bdSeq)
        // The next session has the next bdSeq.
        for _ in 0..<30 { rig.pass() }
        #expect(host.of("NBIRTH").count == 2)
        #expect(host.of("NBIRTH").last?.metrics.first { $0.name == "bdSeq" }?.longValue == bdSeq + 1)
    }

    @Test func theFallbackBrokerIsUsedWhenThePrimaryCannotBeReached() throws {
        let b = InMemoryBroker()
        let host = try Subscriber(brokers: [Self.fallback: b], at: Self.fallback)
        let rig = try Rig(brokers: [Self.fallback: b], order: [Self.primary, Self.fallback])
        defer { rig.cleanup() }
        for _ in 0..<3 { rig.pass() }
        #expect(rig.core.connectedBroker == Self.fallback)
        #expect(host.of("NBIRTH").count == 1)
    }

    @Test func aChangeEveryPassGoesLiveOnceTheBacklogIsSent() throws {
        let broker = InMemoryBroker()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        let rig = try Rig(brokers: [Self.primary: broker])
        defer { rig.cleanup() }
        var sent: [Double] = []
        for i in 0..<10 {
            rig.pressure = 5 + Double(i) / 10
            sent.append(rig.pressure)
            rig.pass()
        }
        #expect(host.values(of: "Sensors/PT-1/Value").map(\.doubleValue) == sent, "every value once, in order")
        // The first pass sampled while connecting and went to the outbox; once that is sent, live.
        let live = host.values(of: "Sensors/PT-1/Value", historical: false).map(\.doubleValue)
        #expect(live.count >= 7)
        #expect(live == Array(sent.suffix(live.count)))
        #expect(rig.core.outboxCount == 0)
        #expect(rig.core.counters.publishedLive >= 7)
    }

    @Test func anOutageLosesNothingAndTheBacklogComesAsHistoryInOrderAfterTheBirth() throws {
        let broker = InMemoryBroker()
        let rig = try Rig(brokers: [Self.primary: broker])
        defer { rig.cleanup() }
        rig.pass()
        broker.takeDown()
        var sent: [Double] = []
        for i in 0..<200 {
            rig.pressure = 5 + Double(i) * 0.01
            sent.append(rig.pressure)
            rig.pass(events: i % 50 == 0 ? [EdgeEvent(json: "{\"n\":\(i)}", isAlarm: i % 100 == 0, timestamp: rig.wall)] : [])
        }
        #expect(rig.core.outboxCount >= 200)
        broker.bringUp()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        for _ in 0..<100 { rig.pass() }
        #expect(rig.core.outboxCount == 0)
        let messages = host.messages
        let birth = try #require(messages.firstIndex { $0.topic.contains("/NBIRTH/") })
        #expect(birth == 0, "the birth comes before the backlog")
        let history = messages.filter { $0.payload.metrics.contains(where: \.isHistorical) }
        #expect(history.allSatisfy { $0.payload.metrics.allSatisfy(\.isHistorical) })
        let values = host.values(of: "Sensors/PT-1/Value", historical: true).map(\.doubleValue)
        #expect(values == sent, "every value of the outage, once, in order")
        let events = (host.values(of: "Events/Monitor") + host.values(of: "Events/Alarm")).sorted { $0.timestamp < $1.timestamp }
        #expect(events.map(\.stringValue) == ["{\"n\":0}", "{\"n\":50}", "{\"n\":100}", "{\"n\":150}"])
        #expect(host.values(of: "Events/Alarm").map(\.stringValue) == ["{\"n\":0}", "{\"n\":100}"])
        // seq runs on from the birth without a gap.
        let seqs = messages.map(\.payload.seq).filter { _ in true }
        #expect(Array(seqs.prefix(50)) == (0..<50).map(UInt64.init))
        #expect(rig.core.counters.droppedForSpace == 0)
    }

    /// Readings that change on every pass while the backlog drains (a running plant) do not keep the
    /// outbox from emptying: once the whole backlog is in flight, new data goes out live behind it.
    @Test func theOutboxEmptiesAndDataGoesLiveAgainWhileReadingsKeepChanging() throws {
        let broker = InMemoryBroker()
        let rig = try Rig(brokers: [Self.primary: broker])
        defer { rig.cleanup() }
        rig.pass()
        broker.takeDown()
        var sent: [Double] = []
        for i in 0..<50 {
            rig.pressure = 5 + Double(i) * 0.01
            sent.append(rig.pressure)
            rig.pass()
        }
        broker.bringUp()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        for i in 50..<100 {
            rig.pressure = 5 + Double(i) * 0.01
            sent.append(rig.pressure)
            rig.pass()
        }
        #expect(rig.core.outboxCount == 0)
        let values = host.values(of: "Sensors/PT-1/Value")
        #expect(values.map(\.doubleValue) == sent, "every value once, in order")
        let live = values.drop { $0.isHistorical }
        #expect(!live.isEmpty && live.allSatisfy { !$0.isHistorical }, "history first, then live data only")
        #expect(live.last?.doubleValue == sent.last)
    }

    @Test func aFullOutboxDropsPlainDataBeforeAlarms() throws {
        let broker = InMemoryBroker()
        let rig = try Rig(brokers: [Self.primary: broker], capacity: 100)
        defer { rig.cleanup() }
        rig.pass()
        broker.takeDown()
        for i in 0..<300 {
            rig.pressure = 5 + Double(i) * 0.01
            rig.pass(events: i % 30 == 0 ? [EdgeEvent(json: "alarm \(i)", isAlarm: true, timestamp: rig.wall)] : [])
        }
        #expect(rig.core.counters.droppedForSpace > 0)
        broker.bringUp()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        for _ in 0..<50 { rig.pass() }
        #expect(host.values(of: "Events/Alarm").map(\.stringValue) == (0..<10).map { "alarm \($0 * 30)" }, "every alarm kept")
    }

    @Test func aRestartSendsWhatTheLastRunKept() throws {
        let broker = InMemoryBroker()
        let dir = NSTemporaryDirectory() + "vigil-edge-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        broker.takeDown()
        do {
            let first = try Rig(brokers: [Self.primary: broker], journalDir: dir)
            for i in 0..<20 { first.pressure = 7 + Double(i); first.pass() }
            #expect(first.core.outboxCount > 0)
            // No stop(): as after kill -9.
        }
        broker.bringUp()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        let second = try Rig(brokers: [Self.primary: broker], journalDir: dir)
        second.pressure = 26
        for _ in 0..<20 { second.pass() }
        // The first run's values, then the value the second run sampled while it connected.
        let history = host.values(of: "Sensors/PT-1/Value", historical: true).map(\.doubleValue)
        #expect(history == (0..<20).map { 7 + Double($0) } + [26])
    }

    @Test func bdSeqCountsOnAcrossARestart() throws {
        let broker = InMemoryBroker()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        let dir = NSTemporaryDirectory() + "vigil-edge-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let first = try Rig(brokers: [Self.primary: broker], journalDir: dir)
            first.pass()
            broker.dropConnection(clientID: "vigil-station-1") // as after kill -9: the will goes out
        }
        let second = try Rig(brokers: [Self.primary: broker], journalDir: dir)
        second.pass()
        let births = host.of("NBIRTH").compactMap { $0.metrics.first { $0.name == "bdSeq" }?.longValue }
        let deaths = host.of("NDEATH").compactMap { $0.metrics.first { $0.name == "bdSeq" }?.longValue }
        #expect(births.count == 2 && deaths.count == 1)
        #expect(deaths == [births[0]], "the old session's will names the old session")
        #expect(births[1] == births[0] + 1, "a new run's session does not reuse the old bdSeq")
    }

    @Test func rebirthAndHostWrites() throws {
        let broker = InMemoryBroker()
        let host = try Subscriber(brokers: [Self.primary: broker], at: Self.primary)
        let rig = try Rig(brokers: [Self.primary: broker])
        defer { rig.cleanup() }
        rig.pass()
        func command(_ topic: String, _ metric: SparkplugPayload.Metric) throws {
            var p = SparkplugPayload()
            p.timestamp = rig.wall
            p.metrics = [metric]
            _ = try host.client.publish(topic: topic, payload: try p.serializedBytes(), qos: .atLeastOnce, retain: false)
        }
        var rebirth = SparkplugPayload.Metric()
        rebirth.name = "Node Control/Rebirth"
        rebirth.datatype = 11
        rebirth.booleanValue = true
        try command("spBv1.0/plant-a/NCMD/station-1", rebirth)
        rig.pass()
        #expect(host.of("NBIRTH").count == 2)
        #expect(host.of("NBIRTH").last?.seq == 0)
        var write = SparkplugPayload.Metric()
        write.name = "Outputs/pump-speed/Value"
        write.datatype = 10
        write.doubleValue = 42
        try command("spBv1.0/plant-a/DCMD/station-1/plc", write)
        write.doubleValue = 80
        try command("spBv1.0/plant-a/DCMD/station-1/plc", write)
        var reading = SparkplugPayload.Metric()
        reading.name = "Sensors/PT-1/Value"
        reading.datatype = 10
        reading.doubleValue = 1
        try command("spBv1.0/plant-a/DCMD/station-1/plc", reading)
        rig.pass()
        #expect(rig.writes.map(\.0) == ["pump-speed", "pump-speed"], "a reading is not writable and never reaches the controller")
        #expect(rig.writes.map(\.1) == [42, 80])
        #expect(rig.core.counters.hostCommandsAccepted == 2) // the rebirth and the first write
        #expect(rig.core.counters.hostCommandsRefused == 2)
    }
}

/// A value behind a lock, shared with client event handlers.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
