import Config
import EdgeNode
import Fleet
import FleetLink
import Foundation
import Journal
import Logging
import MQTT
import Policy
import Runtime
import Sparkplug
import Synchronization
import Testing
import VigilCore

/// The controller's feedback publishing on the edge node's logic, in virtual time over the
/// in-memory broker with a real journal: at least once, the durable cursor moving only over what
/// the broker acknowledged, nothing sent twice after a restart once acknowledged.
@Suite(.serialized) struct FleetSiteLinkTests {
    static let address = MQTTBrokerAddress(scheme: .mqtt, host: "broker", port: 1883)
    static let group = "plant-a"

    /// Events queued as the service queues them; acknowledgements withheld while `holdAcks`.
    final class Inbox: Sendable {
        let events = Mutex<[MQTTEvent]>([])
        let holdAcks = Atomic<Bool>(false)
    }

    final class Node {
        let inbox = Inbox()
        let client: InMemoryMQTTClient
        let core: EdgeNodeCore
        let link: FleetSiteLink
        var now: UInt64 = 1_000_000_000
        let layout: SparkplugLayout

        init(journal: Journal, broker: InMemoryBroker) throws {
            let plant = try ConfigLoader.loadPlant(path: FleetOverBrokerTests.root.appendingPathComponent("configs/demo-pump-station.yaml").path).plant
            layout = try SparkplugLayout(plant: plant, groupID: FleetSiteLinkTests.group, edgeNodeID: "station-1")
            let inbox = self.inbox
            client = InMemoryMQTTClient(options: MQTTConnectOptions(clientID: "vigil-station-1"), brokers: [FleetSiteLinkTests.address: broker]) { e in
                if case .delivered = e, inbox.holdAcks.load(ordering: .acquiring) { return }
                inbox.events.withLock { $0.append(e) }
            }
            core = try EdgeNodeCore(layout: layout, settings: .init(brokers: [FleetSiteLinkTests.address],
                                                                    reconnect: ReconnectPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(2))),
                                    client: client, journal: journal, logger: Logger(label: "test"))
            link = try FleetSiteLink(config: FleetConfig(site: "A", shareFeedback: true), group: FleetSiteLinkTests.group, journal: journal,
                                     store: nil, learningSet: nil, policy: { nil }, logger: Logger(label: "test"), wall: { 0 }, batch: 3)
            core.sideChannel = link
        }

        func pass(_ count: Int = 1) {
            for _ in 0..<count {
                handleQueued()
                now += 100_000_000
                core.step(nowNanoseconds: now, sample: EdgeSample(unreadFor: layout, timestamp: now / 1_000_000), events: [], eventCursor: nil)
                handleQueued()
            }
        }

        func handleQueued() {
            while true {
                let queued = inbox.events.withLock { q in defer { q.removeAll() }; return q }
                if queued.isEmpty { return }
                for e in queued { core.handle(e, nowNanoseconds: now) }
            }
        }
    }

    @Test func feedbackIsPublishedAtLeastOnceAndTheCursorMovesOnlyOverAcknowledgedVerdicts() throws {
        let directory = NSTemporaryDirectory() + "vigil-fleet-link-\(UUID().uuidString)"
        try DurableFile.makeDirectories(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(path: directory + "/journal.sqlite")
        let store = try ModelStore(directory: directory + "/models", journal: journal, expectedFeatures: FleetOverBrokerTests.learningSet.featureNames)
        try store.installIfEmpty(shippedModelAt: FleetOverBrokerTests.shippedPath, wallNanoseconds: 1)
        let learning = try PolicyLearning(store: store, learningSetPath: FleetOverBrokerTests.learningSetPath)
        let samples = FleetLearnCommandTests.siteASamples().prefix(5)
        for s in samples {
            _ = try learning.recordFeedback(sensor: s.sensor, samples: s.window, modelSaid: s.modelSaid, modelAction: nil, margin: nil,
                                            FeedbackInput(verdict: .falseAlarm, operatorName: "op-a", wallNanoseconds: s.wallNanoseconds))
        }
        let ids = try journal.feedback(after: 0).map(\.id)
        #expect(ids.count == 5)

        let broker = InMemoryBroker()
        let received = Events()
        let host = InMemoryMQTTClient(options: MQTTConnectOptions(clientID: "learner"), brokers: [Self.address: broker]) { e in
            received.box.withLock { $0.append(e) }
        }
        try host.connect(to: Self.address, will: nil)
        _ = try host.subscribe(to: FleetTopics.feedbackFilter(group: Self.group), qos: .atLeastOnce)
        func samplesReceived() -> [FleetFeedbackSample] {
            received.box.withLock { $0.compactMap { if case .message(let m) = $0 { try? FleetFeedbackSample.decode(m.payload) } else { nil } } }
        }

        // The broker takes the samples but no acknowledgement comes back: the cursor stays.
        let node = try Node(journal: journal, broker: broker)
        node.inbox.holdAcks.store(true, ordering: .releasing)
        node.pass(5)
        #expect(node.core.connectedBroker != nil)
        #expect(samplesReceived().count == 3, "one batch of 3 in flight, the next waits for it")
        #expect(try journal.fleetCursor(FleetSiteLink.cursorName) == nil && node.link.progress.feedbackCursor == 0)

        // The connection drops: what was in flight is published again on the next one, then acknowledged.
        broker.dropConnection(clientID: "vigil-station-1")
        node.inbox.holdAcks.store(false, ordering: .releasing)
        node.pass(40)
        let got = samplesReceived()
        #expect(got.count == 8, "3 unacknowledged, then all 5: \(got.map(\.eventID))")
        #expect(Array(got.suffix(5)).map(\.wallNanoseconds) == samples.map(\.wallNanoseconds), "in verdict order")
        #expect(got.allSatisfy { $0.site == "A" && $0.label == "healthy" && $0.window.count == 2 && $0.modelVersion == 1 && $0.fleetVersion == 0 })
        #expect(try journal.fleetCursor(FleetSiteLink.cursorName) == ids.last)
        #expect(node.link.progress.feedbackAcknowledged == 5)

        // A restart publishes nothing already acknowledged; a new verdict goes once.
        node.core.stop(timestamp: 0)
        node.client.destroy()
        let again = try Node(journal: journal, broker: broker)
        again.pass(10)
        #expect(samplesReceived().count == 8)
        let extra = FleetLearnCommandTests.siteASamples()[5]
        _ = try learning.recordFeedback(sensor: extra.sensor, samples: extra.window, modelSaid: extra.modelSaid, modelAction: nil, margin: nil,
                                        FeedbackInput(verdict: .falseAlarm, operatorName: "op-a", wallNanoseconds: extra.wallNanoseconds))
        again.pass(5)
        #expect(samplesReceived().count == 9 && samplesReceived().last?.wallNanoseconds == extra.wallNanoseconds)
        #expect(try journal.fleetCursor(FleetSiteLink.cursorName) == (try journal.feedback(after: 0).last?.id))
        again.core.stop(timestamp: 0)
        again.client.destroy()
        host.destroy()
    }
}
