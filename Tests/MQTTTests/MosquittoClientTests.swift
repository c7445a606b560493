import VigilCore
import Foundation
import HIL
import MQTT
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `MosquittoClient` against Debian's Mosquitto broker on loopback. Waits poll with wide windows; no
/// assertion depends on how fast the machine is.
@Suite("Mosquitto client against a real broker", .serialized)
struct MosquittoClientTests {
    func address(_ url: String) throws -> MQTTBrokerAddress { try MQTTBrokerAddress(parsing: url) }

    /// A connected client (fails the test if it does not connect).
    func connectedClient(_ name: String, to broker: MQTTBrokerAddress, version: MQTTProtocolVersion = .v5,
                         will: MQTTWill? = nil, tls: MQTTTLSOptions? = nil) throws -> (MosquittoClient, EventLog) {
        let log = EventLog()
        let client = MosquittoClient(options: MQTTConnectOptions(clientID: clientID(name), protocolVersion: version, tls: tls), events: log.handler)
        try client.connect(to: broker, will: will)
        try #require(log.wait { !$0.connectedBrokers.isEmpty || !$0.refusals.isEmpty }, "no CONNACK")
        try #require(log.connectedBrokers == [broker], "refused: \(log.refusals)")
        return (client, log)
    }

    func subscribe(_ client: MosquittoClient, _ log: EventLog, _ filter: String) throws {
        let id = try client.subscribe(to: filter, qos: .atLeastOnce)
        try #require(log.wait { $0.subscribed(id) }, "no SUBACK")
    }

    @Test(arguments: MQTTProtocolVersion.allCases)
    func publishedMessagesReachASubscriberAndAreReportedDelivered(version: MQTTProtocolVersion) throws {
        let broker = try MosquittoBroker()
        let url = try address(broker.url)
        let (subscriber, subLog) = try connectedClient("sub-\(version.rawValue)", to: url, version: version)
        let (publisher, pubLog) = try connectedClient("pub-\(version.rawValue)", to: url, version: version)
        defer { subscriber.destroy(); publisher.destroy() }
        try subscribe(subscriber, subLog, "vigil/test/+/data")

        let q0 = try publisher.publish(topic: "vigil/test/a/data", payload: bytes("qos0"), qos: .atMostOnce, retain: false)
        let q1 = try publisher.publish(topic: "vigil/test/b/data", payload: [0, 1, 2, 255], qos: .atLeastOnce, retain: false)
        _ = try publisher.publish(topic: "vigil/other", payload: bytes("not subscribed"), qos: .atLeastOnce, retain: false)
        #expect(q0 != q1)
        #expect(pubLog.wait { $0.delivered.isSuperset(of: [q0, q1]) })
        #expect(subLog.wait { $0.messages.count >= 2 })
        #expect(Set(subLog.messages) == [
            MQTTMessage(topic: "vigil/test/a/data", payload: bytes("qos0"), qos: .atMostOnce, retain: false),
            MQTTMessage(topic: "vigil/test/b/data", payload: [0, 1, 2, 255], qos: .atLeastOnce, retain: false),
        ])
    }

    @Test func aRetainedMessageReachesALaterSubscriberFlaggedRetained() throws {
        let broker = try MosquittoBroker()
        let url = try address(broker.url)
        let (publisher, pubLog) = try connectedClient("retain-pub", to: url)
        defer { publisher.destroy() }
        let id = try publisher.publish(topic: "vigil/state", payload: bytes("ONLINE"), qos: .atLeastOnce, retain: true)
        try #require(pubLog.wait { $0.delivered.contains(id) })
        let (late, lateLog) = try connectedClient("retain-sub", to: url)
        defer { late.destroy() }
        try subscribe(late, lateLog, "vigil/#")
        #expect(lateLog.wait { !$0.messages.isEmpty })
        #expect(lateLog.messages.first == MQTTMessage(topic: "vigil/state", payload: bytes("ONLINE"), qos: .atLeastOnce, retain: true))
    }

    /// The first (clean) disconnect's will would be published before the second's: seeing only the
    /// second proves the clean one sent nothing.
    @Test(arguments: MQTTProtocolVersion.allCases)
    func theWillIsPublishedOnAnAbruptDisconnectAndNotOnACleanOne(version: MQTTProtocolVersion) throws {
        let broker = try MosquittoBroker()
        let url = try address(broker.url)
        let (host, hostLog) = try connectedClient("host-\(version.rawValue)", to: url)
        defer { host.destroy() }
        try subscribe(host, hostLog, "spBv1.0/plant/NDEATH/+")
        let topic = "spBv1.0/plant/NDEATH/edge-\(version.rawValue)"

        let (edge, edgeLog) = try connectedClient("edge-\(version.rawValue)", to: url, version: version,
                                                  will: MQTTWill(topic: topic, payload: bytes("bdSeq=0")))
        defer { edge.destroy() }
        try edge.disconnect(sendingWill: false)
        #expect(edgeLog.wait { $0.disconnections == [.requested(sentWill: false)] })

        try edge.connect(to: url, will: MQTTWill(topic: topic, payload: bytes("bdSeq=1")))
        #expect(edgeLog.wait { $0.connectedBrokers.count == 2 })
        try edge.disconnect(sendingWill: true)
        #expect(edgeLog.wait { $0.disconnections.count == 2 })
        #expect(edgeLog.disconnections.last == .requested(sentWill: true))
        #expect(hostLog.wait { !$0.messages.isEmpty })
        #expect(hostLog.messages.map(\.payload) == [bytes("bdSeq=1")])
        #expect(hostLog.messages.first?.topic == topic)
    }

    @Test func aKilledBrokerIsReportedAndANewConnectionWorksAfterItRestarts() throws {
        let broker = try MosquittoBroker()
        let url = try address(broker.url)
        let name = "restart"
        let (edge, log) = try connectedClient(name, to: url, version: .v5)
        defer { edge.destroy() }

        broker.kill9()
        #expect(log.wait { !$0.disconnections.isEmpty })
        let reason = try #require(log.disconnections.first)
        #expect(!reason.isExpected)
        #expect(throws: MQTTClientError.notConnected) {
            try edge.publish(topic: "vigil/x", payload: [], qos: .atLeastOnce, retain: false)
        }

        try broker.restart()
        // A chance for the ended instance to reconnect on its own, which it must not do (checked in the log below).
        usleep(2_500_000)
        try edge.connect(to: url, will: nil)
        #expect(log.wait { $0.connectedBrokers.count == 2 })
        let (host, hostLog) = try connectedClient("restart-host", to: url)
        defer { host.destroy() }
        try subscribe(host, hostLog, "vigil/after")
        let id = try edge.publish(topic: "vigil/after", payload: bytes("again"), qos: .atLeastOnce, retain: false)
        #expect(log.wait { $0.delivered.contains(id) })
        #expect(hostLog.wait { $0.messages.map(\.payload) == [bytes("again")] })
        let connects = broker.log.split(separator: "\n").filter { $0.contains("New client connected") && $0.contains(" as \(clientID(name)) ") }
        #expect(connects.count == 2, "\(connects)")
    }

    @Test func aStoppedBrokerIsAnUnexpectedDisconnect() throws {
        let broker = try MosquittoBroker()
        let (edge, log) = try connectedClient("stopped", to: try address(broker.url), version: .v311)
        defer { edge.destroy() }
        broker.stop()
        #expect(log.wait { !$0.disconnections.isEmpty })
        #expect(log.disconnections.first.map { !$0.isExpected } == true)
    }

    @Test func whenThePrimaryIsDownTheSecondBrokerIsUsed() throws {
        let broker = try MosquittoBroker()
        let dead = MQTTBrokerAddress(scheme: .mqtt, host: "127.0.0.1", port: try MosquittoBroker.freeLoopbackPort())
        let live = try address(broker.url)
        var rotation = try #require(BrokerRotation(brokers: [dead, live]))
        let log = EventLog()
        let edge = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("fallback")), events: log.handler)
        defer { edge.destroy() }

        try edge.connect(to: rotation.currentBroker, will: nil)
        #expect(log.wait { !$0.refusals.isEmpty })
        guard case .unreachable = log.refusals.first else {
            Issue.record("expected unreachable, got \(log.refusals)")
            return
        }
        let next = rotation.recordFailure(atNanoseconds: 1_000)
        #expect(next.broker == live && next.notBeforeNanoseconds == 1_000)
        try edge.connect(to: next.broker, will: nil)
        #expect(log.wait { !$0.connectedBrokers.isEmpty })
        #expect(log.connectedBrokers == [live])
    }

    @Test func aBrokerThatNeverAnswersTimesOut() throws {
        // A listening socket nobody accepts on: TCP connects, CONNACK never comes.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try #require(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } } == 0)
        try #require(listen(fd, 4) == 0)
        try #require(withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } } == 0)
        let silent = MQTTBrokerAddress(scheme: .mqtt, host: "127.0.0.1", port: Int(UInt16(bigEndian: addr.sin_port)))

        let log = EventLog()
        let edge = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("timeout"), connectTimeout: .seconds(1)), events: log.handler)
        defer { edge.destroy() }
        try edge.connect(to: silent, will: nil)
        #expect(log.wait { !$0.refusals.isEmpty })
        #expect(log.refusals == [.timedOut])
        // The client is free for the next attempt.
        try edge.connect(to: silent, will: nil)
        #expect(log.wait { $0.refusals.count == 2 })
    }

    @Test(arguments: MQTTProtocolVersion.allCases)
    func rightCredentialsAreAcceptedAndWrongOnesRefusedWithoutThePassword(version: MQTTProtocolVersion) throws {
        let password = "correct-horse-7431"
        let wrongPassword = "battery-staple-9952"
        let broker = try MosquittoBroker(users: ["edge": password])
        let url = try address(broker.url)

        let goodLog = EventLog()
        let good = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("good-\(version.rawValue)"), protocolVersion: version,
                                                               credentials: MQTTCredentials(username: "edge", password: password)),
                                   events: goodLog.handler)
        defer { good.destroy() }
        try good.connect(to: url, will: nil)
        #expect(goodLog.wait { !$0.connectedBrokers.isEmpty || !$0.refusals.isEmpty })
        #expect(goodLog.connectedBrokers == [url], "\(goodLog.refusals)")

        let badLog = EventLog()
        let credentials = MQTTCredentials(username: "edge", password: wrongPassword)
        let bad = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("bad-\(version.rawValue)"), protocolVersion: version,
                                                              credentials: credentials),
                                  events: badLog.handler)
        defer { bad.destroy() }
        try bad.connect(to: url, will: nil)
        #expect(badLog.wait { !$0.refusals.isEmpty })
        let refusal = try #require(badLog.refusals.first)
        #expect(refusal == .badCredentials || refusal == .notAuthorized, "\(refusal)")
        #expect(badLog.connectedBrokers.isEmpty)
        for text in badLog.all.map({ "\($0)" }) + [refusal.description, "\(credentials)", String(reflecting: credentials)] {
            #expect(!text.contains(wrongPassword))
        }

        let anonymousLog = EventLog()
        let anonymous = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("anon-\(version.rawValue)"), protocolVersion: version),
                                        events: anonymousLog.handler)
        defer { anonymous.destroy() }
        try anonymous.connect(to: url, will: nil)
        #expect(anonymousLog.wait { !$0.refusals.isEmpty })
        #expect(anonymousLog.refusals == [.notAuthorized])
    }

    @Test func aTLSConnectionRoundTripsAndAnUntrustedCertificateIsRefused() throws {
        let broker = try MosquittoBroker(tls: true)
        let files = try #require(broker.tlsFiles)
        let url = try address(try #require(broker.tlsURL))
        #expect(url.usesTLS)
        let tls = MQTTTLSOptions(caFile: files.caFile)
        let (subscriber, subLog) = try connectedClient("tls-sub", to: url, tls: tls)
        let (publisher, pubLog) = try connectedClient("tls-pub", to: url, tls: tls)
        defer { subscriber.destroy(); publisher.destroy() }
        try subscribe(subscriber, subLog, "vigil/tls")
        let id = try publisher.publish(topic: "vigil/tls", payload: bytes("secret reading"), qos: .atLeastOnce, retain: false)
        #expect(pubLog.wait { $0.delivered.contains(id) })
        #expect(subLog.wait { $0.messages.map(\.payload) == [bytes("secret reading")] })

        // The system's CAs do not know the test CA.
        let log = EventLog()
        let untrusting = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("tls-untrusting"), tls: MQTTTLSOptions()), events: log.handler)
        defer { untrusting.destroy() }
        try untrusting.connect(to: url, will: nil)
        #expect(log.wait { !$0.refusals.isEmpty })
        guard case .tlsFailure(let detail) = log.refusals.first else {
            Issue.record("expected a TLS failure, got \(log.all)")
            return
        }
        #expect(detail.contains("certificate"), "\(detail)")
    }

    @Test func anUnreadableCAFileIsAnOptionsError() throws {
        let edge = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("bad-ca"), tls: MQTTTLSOptions(caFile: "/nonexistent/ca.crt")),
                                   events: EventLog().handler)
        defer { edge.destroy() }
        #expect {
            try edge.connect(to: MQTTBrokerAddress(scheme: .mqtts, host: "127.0.0.1", port: 8883), will: nil)
        } throws: { error in
            guard case .invalidOptions(let text) = error as? MQTTClientError else { return false }
            return text.contains("/nonexistent/ca.crt")
        }
    }

    @Test func misuseIsRefusedWithTypedErrors() throws {
        let broker = try MosquittoBroker()
        let url = try address(broker.url)
        let log = EventLog()
        let edge = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("misuse")), events: log.handler)
        #expect(throws: MQTTClientError.notConnected) { try edge.publish(topic: "a", payload: [], qos: .atMostOnce, retain: false) }
        #expect(throws: MQTTClientError.notConnected) { try edge.disconnect(sendingWill: false) }
        try edge.connect(to: url, will: nil)
        #expect(throws: MQTTClientError.alreadyConnected) { try edge.connect(to: url, will: nil) }
        #expect(log.wait { !$0.connectedBrokers.isEmpty })
        #expect(throws: MQTTClientError.invalidTopic("a/+", reason: "wildcards are for subscriptions only")) {
            try edge.publish(topic: "a/+", payload: [], qos: .atMostOnce, retain: false)
        }
        #expect(throws: MQTTClientError.invalidTopic("a/#/b", reason: "'#' must be a whole level and the last one")) {
            try edge.subscribe(to: "a/#/b", qos: .atMostOnce)
        }
        let short = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("keepalive"), keepAlive: .seconds(2)), events: log.handler)
        #expect(throws: MQTTClientError.self) { try short.connect(to: url, will: nil) }
        edge.destroy()
        #expect(throws: MQTTClientError.destroyed) { try edge.publish(topic: "a", payload: [], qos: .atMostOnce, retain: false) }
        #expect(throws: MQTTClientError.destroyed) { try edge.connect(to: url, will: nil) }
    }

    @Test func theEventHandlerCannotConnectButCanPublish() throws {
        let broker = try MosquittoBroker()
        let url = try address(broker.url)
        let results = EventLog()
        let box = ClientBox()
        let edge = MosquittoClient(options: MQTTConnectOptions(clientID: clientID("handler"))) { event in
            guard case .connected(let b) = event, let c = box.client else { return }
            do { try c.connect(to: b, will: nil) } catch { results.handler(.connectionRefused(broker: b, reason: .other("\(error)"))) }
            if let id = try? c.publish(topic: "vigil/from-handler", payload: [1], qos: .atLeastOnce, retain: false) {
                results.handler(.delivered(id))
            }
        }
        box.client = edge
        defer { edge.destroy() }
        try edge.connect(to: url, will: nil)
        #expect(results.wait { $0.all.count == 2 })
        #expect(results.refusals == [.other(MQTTClientError.calledFromEventHandler.description)])
        #expect(results.delivered.count == 1)
    }
}

/// Lets a test's event handler reach the client it belongs to.
final class ClientBox: @unchecked Sendable {
    weak var client: MosquittoClient?
}
