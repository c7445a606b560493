import VigilCore
import MQTT
import Testing

@Suite("Broker addresses")
struct BrokerAddressTests {
    @Test func parsesSchemesHostsAndDefaultPorts() throws {
        #expect(try MQTTBrokerAddress(parsing: "mqtt://broker.plant.local") == MQTTBrokerAddress(scheme: .mqtt, host: "broker.plant.local", port: 1883))
        #expect(try MQTTBrokerAddress(parsing: "mqtts://10.0.0.5") == MQTTBrokerAddress(scheme: .mqtts, host: "10.0.0.5", port: 8883))
        #expect(try MQTTBrokerAddress(parsing: " MQTT://127.0.0.1:2883/ ") == MQTTBrokerAddress(scheme: .mqtt, host: "127.0.0.1", port: 2883))
        let v6 = try MQTTBrokerAddress(parsing: "mqtts://[fe80::1]:9883")
        #expect(v6.host == "fe80::1" && v6.port == 9883 && v6.usesTLS)
        #expect(v6.description == "mqtts://[fe80::1]:9883")
        #expect(try MQTTBrokerAddress(parsing: "mqtt://[::1]").port == 1883)
    }

    @Test func descriptionParsesBackToTheSameAddress() throws {
        for text in ["mqtt://a:1", "mqtts://[::1]:8883", "mqtt://host.example:65535"] {
            let a = try MQTTBrokerAddress(parsing: text)
            #expect(try MQTTBrokerAddress(parsing: a.description) == a)
        }
    }

    @Test func refusesMalformedAddressesWithTypedErrors() {
        #expect(throws: MQTTAddressError.empty) { try MQTTBrokerAddress(parsing: "  ") }
        #expect(throws: MQTTAddressError.missingScheme(text: "127.0.0.1:1883")) { try MQTTBrokerAddress(parsing: "127.0.0.1:1883") }
        #expect(throws: MQTTAddressError.unsupportedScheme(found: "ws", text: "ws://h:80")) { try MQTTBrokerAddress(parsing: "ws://h:80") }
        #expect(throws: MQTTAddressError.invalidPort(found: "0", text: "mqtt://h:0")) { try MQTTBrokerAddress(parsing: "mqtt://h:0") }
        #expect(throws: MQTTAddressError.invalidPort(found: "70000", text: "mqtt://h:70000")) { try MQTTBrokerAddress(parsing: "mqtt://h:70000") }
        #expect(throws: MQTTAddressError.invalidPort(found: "x", text: "mqtt://h:x")) { try MQTTBrokerAddress(parsing: "mqtt://h:x") }
        #expect(throws: MQTTAddressError.invalidPort(found: "+80", text: "mqtt://h:+80")) { try MQTTBrokerAddress(parsing: "mqtt://h:+80") }
        #expect(throws: MQTTAddressError.missingHost(text: "mqtt://:1883")) { try MQTTBrokerAddress(parsing: "mqtt://:1883") }
        #expect(throws: MQTTAddressError.unclosedBracket(text: "mqtt://[::1:1883")) { try MQTTBrokerAddress(parsing: "mqtt://[::1:1883") }
        #expect(throws: MQTTAddressError.invalidHost(found: "::1", text: "mqtt://::1")) { try MQTTBrokerAddress(parsing: "mqtt://::1") }
        #expect(throws: MQTTAddressError.unexpectedPath(text: "mqtt://h/topic")) { try MQTTBrokerAddress(parsing: "mqtt://h/topic") }
    }

    @Test func anAddressWithCredentialsIsRefusedWithoutRepeatingThem() {
        do {
            _ = try MQTTBrokerAddress(parsing: "mqtt://edge:s3cret-pw@broker:1883")
            Issue.record("accepted an address with credentials")
        } catch {
            #expect(error == .credentialsInAddress)
            #expect(!error.description.contains("s3cret-pw"))
        }
        // Also without a scheme, where the text would otherwise be echoed.
        #expect(throws: MQTTAddressError.credentialsInAddress) { try MQTTBrokerAddress(parsing: "edge:s3cret-pw@broker") }
    }
}

@Suite("Broker rotation")
struct BrokerRotationTests {
    let primary = MQTTBrokerAddress(scheme: .mqtt, host: "primary", port: 1883)
    let secondary = MQTTBrokerAddress(scheme: .mqtts, host: "secondary", port: 8883)
    let s: UInt64 = 1_000_000_000

    @Test func anEmptyListHasNoRotation() {
        #expect(BrokerRotation(brokers: []) == nil)
    }

    @Test func fallsBackToTheNextBrokerAtOnceAndWaitsBeforeEachNewRound() throws {
        var r = try #require(BrokerRotation(brokers: [primary, secondary],
                                            policy: ReconnectPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(5), multiplier: 2)))
        #expect(r.currentBroker == primary)
        #expect(r.recordFailure(atNanoseconds: 100 * s) == ConnectionAttempt(broker: secondary, notBeforeNanoseconds: 100 * s))
        #expect(r.recordFailure(atNanoseconds: 101 * s) == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 102 * s))
        #expect(r.recordFailure(atNanoseconds: 102 * s) == ConnectionAttempt(broker: secondary, notBeforeNanoseconds: 102 * s))
        #expect(r.recordFailure(atNanoseconds: 103 * s) == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 105 * s))
        _ = r.recordFailure(atNanoseconds: 105 * s)
        #expect(r.recordFailure(atNanoseconds: 106 * s) == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 110 * s))
        _ = r.recordFailure(atNanoseconds: 110 * s)
        // Capped at the maximum.
        #expect(r.recordFailure(atNanoseconds: 111 * s) == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 116 * s))
        #expect(r.consecutiveFailures == 8)
        #expect(r.failedRounds == 4)
    }

    @Test func aStableConnectionLostStartsOverAtThePrimaryWithoutWaiting() throws {
        var r = try #require(BrokerRotation(brokers: [primary, secondary], policy: ReconnectPolicy(stableAfter: .seconds(30))))
        _ = r.recordFailure(atNanoseconds: 0)
        _ = r.recordFailure(atNanoseconds: 1 * s)
        _ = r.recordFailure(atNanoseconds: 3 * s)
        #expect(r.currentBroker == secondary)
        r.recordConnected(atNanoseconds: 4 * s)
        let next = r.recordFailure(atNanoseconds: 100 * s)
        #expect(next == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 100 * s))
        #expect(r.failedRounds == 0 && r.consecutiveFailures == 0)
    }

    @Test func aConnectionLostSoonAfterConnectingCountsAsAFailedRound() throws {
        var r = try #require(BrokerRotation(brokers: [primary, secondary],
                                            policy: ReconnectPolicy(initialDelay: .seconds(2), stableAfter: .seconds(30))))
        r.recordConnected(atNanoseconds: 10 * s)
        let next = r.recordFailure(atNanoseconds: 11 * s)
        #expect(next == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 13 * s))
        #expect(r.failedRounds == 1)
    }

    @Test func aSingleBrokerIsRetriedWithBackOff() throws {
        var r = try #require(BrokerRotation(brokers: [primary], policy: ReconnectPolicy(initialDelay: .milliseconds(500), maximumDelay: .seconds(60), multiplier: 3)))
        #expect(r.recordFailure(atNanoseconds: 0) == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 500_000_000))
        #expect(r.recordFailure(atNanoseconds: 0) == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 1_500_000_000))
        #expect(r.recordFailure(atNanoseconds: 0) == ConnectionAttempt(broker: primary, notBeforeNanoseconds: 4_500_000_000))
        #expect(r.delay(afterFailedRounds: 40) == 60 * s)
    }
}

@Suite("Topic matching")
struct TopicTests {
    @Test func wildcardsMatchAsMQTTSpecifies() {
        #expect(MQTTTopic.matches(filter: "spBv1.0/+/NDATA/#", topic: "spBv1.0/plant/NDATA/edge1"))
        #expect(MQTTTopic.matches(filter: "a/#", topic: "a"))
        #expect(MQTTTopic.matches(filter: "#", topic: "a/b/c"))
        #expect(MQTTTopic.matches(filter: "a/+/c", topic: "a//c"))
        #expect(!MQTTTopic.matches(filter: "a/+", topic: "a/b/c"))
        #expect(!MQTTTopic.matches(filter: "a/b", topic: "a/b/c"))
        #expect(!MQTTTopic.matches(filter: "a/b/c", topic: "a/b"))
        #expect(!MQTTTopic.matches(filter: "#", topic: "$SYS/broker/uptime"))
        #expect(!MQTTTopic.matches(filter: "+/broker/uptime", topic: "$SYS/broker/uptime"))
        #expect(MQTTTopic.matches(filter: "$SYS/#", topic: "$SYS/broker/uptime"))
    }

    @Test func invalidTopicsAndFiltersAreNamed() {
        #expect(MQTTTopic.problem(withTopicName: "a/+") != nil)
        #expect(MQTTTopic.problem(withTopicName: "") != nil)
        #expect(MQTTTopic.problem(withTopicName: "spBv1.0/g/NBIRTH/e") == nil)
        #expect(MQTTTopic.problem(withFilter: "a/#/b") != nil)
        #expect(MQTTTopic.problem(withFilter: "a/b#") != nil)
        #expect(MQTTTopic.problem(withFilter: "a+/b") != nil)
        #expect(MQTTTopic.problem(withFilter: "+/+/#") == nil)
    }
}
