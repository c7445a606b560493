import Foundation
import VigilCore
import Yams

/// The `mqtt:` section: the Sparkplug B edge node's brokers, identity, reporting, host writes and
/// fleet sharing. `brokers`, `group` and `edge_node` are required; every other key keeps
/// `MQTTConfig`'s default.
extension PlantDecoder {
    static let mqttKeys = ["brokers", "client_id", "group", "edge_node", "protocol", "keepalive_s", "tls", "credentials_file",
                           "publish_interval_ms", "qos", "deadband", "deadbands", "writable_outputs", "outbox_capacity", "fleet"]
    static let brokerExpected = "a broker URL mqtt://host[:port] or mqtts://host[:port] (IPv6 in brackets)"

    static func decodeMQTT(_ node: Node?, path: String, sink: DiagnosticSink) -> MQTTConfig? {
        guard let map = MappingReader(node, path: path, allowed: mqttKeys, sink: sink) else { return nil }
        var brokers: [String] = []
        if let items = map.list("brokers", required: true, expected: "a list of broker URLs, the primary first") {
            if items.isEmpty {
                sink.report(.outOfRange, path.key("brokers"), found: "an empty list", expected: "at least one broker URL, mqtt://host[:port] or mqtts://host[:port]")
            }
            for item in items {
                guard let text = ScalarValue.string(item.node) else {
                    sink.report(.wrongType, at: item.node.mark, item.path, found: describe(item.node), expected: brokerExpected)
                    continue
                }
                do {
                    _ = try MQTTBrokerAddress(parsing: text)
                    brokers.append(text)
                } catch .credentialsInAddress {
                    // The address is not repeated: it holds a password.
                    sink.report(.outOfRange, at: item.node.mark, item.path, found: "an address with credentials (user@host)",
                                expected: brokerExpected + "; the username and password go in credentials_file")
                } catch {
                    sink.report(.outOfRange, at: item.node.mark, item.path, found: quoted(text), expected: brokerExpected)
                }
            }
        }
        let group = sparkplugID(map, "group", sink: sink)
        let edgeNode = sparkplugID(map, "edge_node", sink: sink)
        var mqtt = MQTTConfig(brokers: brokers, groupID: group ?? "", edgeNodeID: edgeNode ?? "")
        if let client = map.string("client_id", expected: "an MQTT client id (1...64 characters, unique on the broker)") {
            if (1...64).contains(client.utf8.count) { mqtt.clientID = client } else {
                map.wrong("client_id", map.node("client_id", expected: "")!, expected: "an MQTT client id of 1...64 bytes", kind: .outOfRange)
            }
        }
        if let version = map.choice("protocol", MQTTConfig.ProtocolVersion.self) { mqtt.protocolVersion = version }
        if let keepAlive = map.int("keepalive_s", in: 5...3600) { mqtt.keepAliveSeconds = keepAlive }
        if map.has("tls"),
           let tls = MappingReader(map.node("tls", expected: ""), path: path.key("tls"), allowed: ["ca_file", "cert_file", "key_file"], sink: sink) {
            mqtt.tlsCAFile = tls.string("ca_file", required: true, expected: "the CA bundle (PEM) that signs the broker's certificate")
            mqtt.tlsCertFile = tls.string("cert_file", expected: "this node's client certificate (PEM)")
            mqtt.tlsKeyFile = tls.string("key_file", expected: "this node's client key (PEM)")
            if (mqtt.tlsCertFile == nil) != (mqtt.tlsKeyFile == nil) {
                sink.report(.inconsistent, path.key("tls"), found: mqtt.tlsCertFile == nil ? "key_file without cert_file" : "cert_file without key_file",
                            expected: "both cert_file and key_file for a client certificate, or neither")
            }
        }
        mqtt.credentialsFile = map.string("credentials_file", expected: "a file with the username on its first line and the password on its second")
        if let interval = map.int("publish_interval_ms", in: 10...60_000) { mqtt.publishIntervalMilliseconds = interval }
        if let qos = map.int("qos", in: 0...1) { mqtt.dataQoS = qos }
        if let deadband = map.double("deadband", expected: "an absolute deadband ≥ 0 in engineering units", isValid: { $0 >= 0 && $0.isFinite }) {
            mqtt.defaultDeadband = deadband
        }
        if map.has("deadbands") { mqtt.deadbands = decodeDeadbands(map.node("deadbands", expected: ""), path: path.key("deadbands"), sink: sink) }
        if let outputs = map.stringList("writable_outputs", expected: "output ids a Sparkplug host may write with DCMD") { mqtt.writableOutputs = outputs }
        if let capacity = map.int("outbox_capacity", in: 100...10_000_000) { mqtt.outboxCapacity = capacity }
        if map.has("fleet"),
           let fleet = MappingReader(map.node("fleet", expected: ""), path: path.key("fleet"), allowed: ["site", "share_feedback", "model_key"], sink: sink) {
            var config = FleetConfig(site: edgeNode ?? "")
            if let site = fleet.string("site", expected: "this site's name in the fleet") {
                if let problem = MQTTConfig.idProblem(site) {
                    fleet.wrong("site", fleet.node("site", expected: "")!, expected: "a name without '/', '+' or '#' (\(problem))", kind: .outOfRange)
                } else {
                    config.site = site
                }
            }
            if let share = fleet.bool("share_feedback") { config.shareFeedback = share }
            if let key = fleet.string("model_key", expected: "the fleet learner's Ed25519 public key, base64 (vigil fleet keygen prints it)") {
                if let data = Data(base64Encoded: key), data.count == 32 {
                    config.modelKey = key
                } else {
                    fleet.wrong("model_key", fleet.node("model_key", expected: "")!,
                                expected: "an Ed25519 public key: 32 bytes in base64 (vigil fleet keygen prints it)", kind: .outOfRange)
                }
            }
            mqtt.fleet = config
        }
        // Returned even when broken, so the validator still checks its references (the loader refuses it anyway).
        return mqtt
    }

    /// A Sparkplug id (group, edge node): required, without topic separators or wildcards.
    private static func sparkplugID(_ map: MappingReader, _ key: String, sink: DiagnosticSink) -> String? {
        guard let id = map.string(key, required: true, expected: "a Sparkplug id (no '/', '+' or '#')") else { return nil }
        if let problem = MQTTConfig.idProblem(id) {
            // The id as written is in `found`; the problem names the offending character.
            map.wrong(key, map.node(key, expected: "")!, expected: "a Sparkplug id without '/', '+' or '#' (\(problem))", kind: .outOfRange)
            return nil
        }
        return id
    }

    /// `deadbands: {SENSOR: number}`; sensor ids are checked against the plant by the validator.
    private static func decodeDeadbands(_ node: Node?, path: String, sink: DiagnosticSink) -> [String: Double] {
        guard case .mapping(let mapping)? = node else {
            sink.report(.wrongType, at: node?.mark, path, found: describe(node), expected: "a mapping of sensor id to absolute deadband")
            return [:]
        }
        sink.remember(path, mapping.mark)
        var result: [String: Double] = [:]
        for (key, value) in mapping {
            guard let id = ScalarValue.key(key) else {
                sink.report(.wrongType, at: key.mark, path, found: describeKey(key), expected: "a sensor id")
                continue
            }
            let itemPath = path.key(id)
            sink.remember(itemPath, key.mark)
            guard let number = ScalarValue.double(value), number >= 0, number.isFinite else {
                sink.report(.outOfRange, at: value.mark, itemPath, found: describe(value), expected: "an absolute deadband ≥ 0 in the sensor's unit")
                continue
            }
            result[id] = number
        }
        return result
    }
}

/// The edge node's cross-references: deadbands name sensors, writable outputs name outputs.
extension PlantValidator {
    func checkMQTT() {
        guard let mqtt = plant.mqtt else { return }
        let sensorIDs = Set(plant.sensors.map(\.0.id))
        for id in mqtt.deadbands.keys.sorted() where !sensorIDs.contains(id) {
            sink.report(.unresolvedReference, "mqtt.deadbands".key(id), found: quoted(id), expected: "a sensor id of this plant")
        }
        let outputIDs = Set(plant.outputs.map(\.0.id))
        for (i, id) in mqtt.writableOutputs.enumerated() where !outputIDs.contains(id) {
            sink.report(.unresolvedReference, "mqtt.writable_outputs".index(i), found: quoted(id), expected: "an output id of this plant")
        }
        let tlsBrokers = mqtt.brokers.filter { (try? MQTTBrokerAddress(parsing: $0))?.usesTLS == true }
        if !tlsBrokers.isEmpty, mqtt.tlsCAFile == nil {
            sink.report(.inconsistent, "mqtt.brokers", found: "\(tlsBrokers[0]) without a tls: section",
                        expected: "tls.ca_file for mqtts:// brokers")
        }
    }
}
