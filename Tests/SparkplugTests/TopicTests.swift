import Sparkplug
import Testing

@Suite struct TopicTests {
    @Test func formatsNodeDeviceAndStateTopics() throws {
        #expect(try SparkplugTopic(.nbirth, group: "plant", edgeNode: "vigil-1").string == "spBv1.0/plant/NBIRTH/vigil-1")
        #expect(try SparkplugTopic(.ddata, group: "plant", edgeNode: "vigil-1", device: "pump").string == "spBv1.0/plant/DDATA/vigil-1/pump")
        #expect(try SparkplugTopic.state(hostID: "scada").string == "spBv1.0/STATE/scada")
    }

    @Test(arguments: SparkplugMessageType.allCases)
    func everyTypeRoundTrips(_ type: SparkplugMessageType) throws {
        let topic = type == .state ? try SparkplugTopic.state(hostID: "h")
            : try SparkplugTopic(type, group: "g", edgeNode: "n", device: type.isDeviceMessage ? "d" : nil)
        let parsed = try SparkplugTopic(parsing: topic.string)
        #expect(parsed == topic)
        #expect(parsed.messageType == type)
        #expect(parsed.deviceID == (type.isDeviceMessage ? "d" : nil))
        #expect(parsed.hostID == (type == .state ? "h" : nil))
    }

    @Test func parsesFields() throws {
        let t = try SparkplugTopic(parsing: "spBv1.0/plant/DCMD/vigil-1/tank")
        #expect(t.groupID == "plant" && t.edgeNodeID == "vigil-1" && t.deviceID == "tank" && t.messageType == .dcmd)
    }

    @Test func refusesMalformedTopics() {
        #expect(throws: SparkplugTopicError.wrongNamespace(topic: "spAv1.0/g/NDATA/n")) { try SparkplugTopic(parsing: "spAv1.0/g/NDATA/n") }
        #expect(throws: SparkplugTopicError.unknownMessageType(topic: "spBv1.0/g/NFOO/n", found: "NFOO")) { try SparkplugTopic(parsing: "spBv1.0/g/NFOO/n") }
        #expect(throws: SparkplugTopicError.wrongLevelCount(topic: "spBv1.0/g/NDATA/n/d", expected: 4, found: 5)) { try SparkplugTopic(parsing: "spBv1.0/g/NDATA/n/d") }
        #expect(throws: SparkplugTopicError.wrongLevelCount(topic: "spBv1.0/g/DDATA/n", expected: 5, found: 4)) { try SparkplugTopic(parsing: "spBv1.0/g/DDATA/n") }
        #expect(throws: SparkplugTopicError.wrongLevelCount(topic: "spBv1.0/STATE/h/x", expected: 3, found: 4)) { try SparkplugTopic(parsing: "spBv1.0/STATE/h/x") }
        #expect(throws: SparkplugTopicError.wrongLevelCount(topic: "spBv1.0/g", expected: 4, found: 2)) { try SparkplugTopic(parsing: "spBv1.0/g") }
        #expect(throws: SparkplugTopicError.invalidID(role: "edge node", id: "")) { try SparkplugTopic(parsing: "spBv1.0/g/NDATA/") }
        #expect(throws: SparkplugTopicError.invalidID(role: "group", id: "+")) { try SparkplugTopic(parsing: "spBv1.0/+/NDATA/n") }
        #expect(throws: SparkplugTopicError.invalidID(role: "host", id: "#")) { try SparkplugTopic(parsing: "spBv1.0/STATE/#") }
    }

    @Test func refusesInvalidIDsAndDeviceMismatch() {
        #expect(throws: SparkplugTopicError.invalidID(role: "device", id: "a/b")) { try SparkplugTopic(.ddata, group: "g", edgeNode: "n", device: "a/b") }
        #expect(throws: SparkplugTopicError.invalidID(role: "edge node", id: "n#")) { try SparkplugTopic(.ndata, group: "g", edgeNode: "n#") }
        #expect(throws: SparkplugTopicError.invalidID(role: "host", id: "")) { try SparkplugTopic.state(hostID: "") }
        #expect(throws: SparkplugTopicError.deviceMismatch(.ddata, deviceID: nil)) { try SparkplugTopic(.ddata, group: "g", edgeNode: "n") }
        #expect(throws: SparkplugTopicError.deviceMismatch(.ndata, deviceID: "d")) { try SparkplugTopic(.ndata, group: "g", edgeNode: "n", device: "d") }
        #expect(SparkplugTopic.isValidID("pump-1.a_b"))
        #expect(!SparkplugTopic.isValidID("a+b"))
    }
}
