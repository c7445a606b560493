import VigilCore
import MQTT
import Testing

@Suite("In-memory broker")
struct InMemoryBrokerTests {
    let address = MQTTBrokerAddress(scheme: .mqtt, host: "broker", port: 1883)
    let backup = MQTTBrokerAddress(scheme: .mqtt, host: "backup", port: 1883)

    func client(_ id: String, on brokers: [MQTTBrokerAddress: InMemoryBroker], credentials: MQTTCredentials? = nil) -> (InMemoryMQTTClient, EventLog) {
        let log = EventLog()
        return (InMemoryMQTTClient(options: MQTTConnectOptions(clientID: id, credentials: credentials), brokers: brokers, events: log.handler), log)
    }

    @Test func subscriptionsWithWildcardsReceiveMatchingMessagesAtTheLowerQoS() throws {
        let broker = InMemoryBroker()
        let (host, hostLog) = client("host", on: [address: broker])
        let (edge, edgeLog) = client("edge", on: [address: broker])
        try host.connect(to: address, will: nil)
        try edge.connect(to: address, will: nil)
        #expect(hostLog.connectedBrokers == [address])
        _ = try host.subscribe(to: "spBv1.0/+/NDATA/#", qos: .atMostOnce)
        _ = try host.subscribe(to: "spBv1.0/plant/DDATA/edge/pump", qos: .atLeastOnce)
        let id = try edge.publish(topic: "spBv1.0/plant/NDATA/edge", payload: bytes("n1"), qos: .atLeastOnce, retain: false)
        _ = try edge.publish(topic: "spBv1.0/plant/DDATA/edge/pump", payload: bytes("d1"), qos: .atLeastOnce, retain: false)
        _ = try edge.publish(topic: "spBv1.0/plant/NBIRTH/edge", payload: bytes("b"), qos: .atLeastOnce, retain: false)
        #expect(hostLog.messages == [
            MQTTMessage(topic: "spBv1.0/plant/NDATA/edge", payload: bytes("n1"), qos: .atMostOnce, retain: false),
            MQTTMessage(topic: "spBv1.0/plant/DDATA/edge/pump", payload: bytes("d1"), qos: .atLeastOnce, retain: false),
        ])
        #expect(edgeLog.delivered.contains(id))
    }

    @Test func retainedMessagesReachLaterSubscribersAndAnEmptyOneClearsThem() throws {
        let broker = InMemoryBroker()
        let (edge, _) = client("edge", on: [address: broker])
        try edge.connect(to: address, will: nil)
        _ = try edge.publish(topic: "state/edge", payload: bytes("ONLINE"), qos: .atLeastOnce, retain: true)
        _ = try edge.publish(topic: "state/other", payload: bytes("x"), qos: .atMostOnce, retain: true)
        let (late, lateLog) = client("late", on: [address: broker])
        try late.connect(to: address, will: nil)
        _ = try late.subscribe(to: "state/edge", qos: .atLeastOnce)
        #expect(lateLog.messages == [MQTTMessage(topic: "state/edge", payload: bytes("ONLINE"), qos: .atLeastOnce, retain: true)])
        _ = try edge.publish(topic: "state/edge", payload: [], qos: .atLeastOnce, retain: true)
        #expect(broker.retainedMessage(on: "state/edge") == nil)
        #expect(broker.retainedMessage(on: "state/other") != nil)
        // The live (empty) publish still reaches the subscriber, not flagged retained.
        #expect(lateLog.messages.last == MQTTMessage(topic: "state/edge", payload: [], qos: .atLeastOnce, retain: false))
    }

    @Test func theWillIsPublishedOnAnAbruptDisconnectAndNotOnACleanOne() throws {
        let broker = InMemoryBroker()
        let (host, hostLog) = client("host", on: [address: broker])
        try host.connect(to: address, will: nil)
        _ = try host.subscribe(to: "spBv1.0/plant/NDEATH/+", qos: .atLeastOnce)
        let will = MQTTWill(topic: "spBv1.0/plant/NDEATH/edge", payload: bytes("bdSeq=0"))
        let (edge, edgeLog) = client("edge", on: [address: broker])

        try edge.connect(to: address, will: will)
        try edge.disconnect(sendingWill: false)
        #expect(hostLog.messages.isEmpty)
        #expect(edgeLog.disconnections == [.requested(sentWill: false)])

        try edge.connect(to: address, will: MQTTWill(topic: will.topic, payload: bytes("bdSeq=1")))
        try edge.disconnect(sendingWill: true)
        #expect(hostLog.messages.map(\.payload) == [bytes("bdSeq=1")])

        try edge.connect(to: address, will: MQTTWill(topic: will.topic, payload: bytes("bdSeq=2")))
        broker.dropConnection(clientID: "edge")
        #expect(hostLog.messages.map(\.payload) == [bytes("bdSeq=1"), bytes("bdSeq=2")])
        #expect(edgeLog.disconnections.last == .connectionLost("connection dropped"))
    }

    @Test func aBrokerTakenDownDisconnectsEveryoneAndRefusesUntilItComesUp() throws {
        let broker = InMemoryBroker()
        let (edge, log) = client("edge", on: [address: broker])
        try edge.connect(to: address, will: MQTTWill(topic: "death", payload: []))
        _ = try edge.publish(topic: "r", payload: bytes("kept?"), qos: .atMostOnce, retain: true)
        broker.takeDown()
        #expect(log.disconnections == [.connectionLost("broker went down")])
        #expect(throws: MQTTClientError.notConnected) { try edge.publish(topic: "t", payload: [], qos: .atMostOnce, retain: false) }
        try edge.connect(to: address, will: nil)
        #expect(log.refusals == [.unreachable("broker is down")])
        broker.bringUp()
        try edge.connect(to: address, will: nil)
        #expect(log.connectedBrokers == [address, address])
        #expect(broker.retainedMessage(on: "r") == nil)
        #expect(broker.publishedCount == 1)  // the will was not sent
    }

    @Test func aRotationFallsBackToTheSecondBrokerWhileThePrimaryIsDown() throws {
        let primary = InMemoryBroker()
        let secondary = InMemoryBroker()
        primary.takeDown()
        let (edge, log) = client("edge", on: [address: primary, backup: secondary])
        var rotation = try #require(BrokerRotation(brokers: [address, backup]))
        try edge.connect(to: rotation.currentBroker, will: nil)
        #expect(log.refusals.count == 1)
        let next = rotation.recordFailure(atNanoseconds: 0)
        #expect(next.broker == backup && next.notBeforeNanoseconds == 0)
        try edge.connect(to: next.broker, will: nil)
        #expect(log.connectedBrokers == [backup])
        #expect(secondary.connectedClientIDs == ["edge"])
    }

    @Test func credentialsAreCheckedAndTheClientIdTakesOverAnOldSession() throws {
        let broker = InMemoryBroker(users: ["edge": "right"])
        let (wrong, wrongLog) = client("edge", on: [address: broker], credentials: MQTTCredentials(username: "edge", password: "wrong"))
        try wrong.connect(to: address, will: nil)
        #expect(wrongLog.refusals == [.badCredentials])
        let (anonymous, anonymousLog) = client("anon", on: [address: broker])
        try anonymous.connect(to: address, will: nil)
        #expect(anonymousLog.refusals == [.notAuthorized])

        let (first, firstLog) = client("edge", on: [address: broker], credentials: MQTTCredentials(username: "edge", password: "right"))
        let (second, secondLog) = client("edge", on: [address: broker], credentials: MQTTCredentials(username: "edge", password: "right"))
        try first.connect(to: address, will: nil)
        try second.connect(to: address, will: nil)
        #expect(firstLog.disconnections == [.brokerDisconnected(reasonCode: 0x8E)])
        #expect(secondLog.connectedBrokers == [address])
        #expect(broker.connectedClientIDs == ["edge"])
    }

    @Test func misuseIsRefusedWithTypedErrors() throws {
        let broker = InMemoryBroker()
        let (edge, _) = client("edge", on: [address: broker])
        #expect(throws: MQTTClientError.notConnected) { try edge.subscribe(to: "a", qos: .atMostOnce) }
        try edge.connect(to: address, will: nil)
        #expect(throws: MQTTClientError.alreadyConnected) { try edge.connect(to: address, will: nil) }
        #expect(throws: MQTTClientError.invalidTopic("a/#", reason: "wildcards are for subscriptions only")) {
            try edge.publish(topic: "a/#", payload: [], qos: .atMostOnce, retain: false)
        }
        edge.destroy()
        #expect(throws: MQTTClientError.destroyed) { try edge.publish(topic: "a", payload: [], qos: .atMostOnce, retain: false) }
        #expect(broker.connectedClientIDs.isEmpty)
    }
}
