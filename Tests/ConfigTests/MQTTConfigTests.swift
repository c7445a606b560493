import Config
import Foundation
import Testing
import VigilCore

/// `mqtt:` decodes to `MQTTConfig`; broker URLs, Sparkplug ids, deadbands, writable outputs and the
/// fleet key are checked with file, line and key path (the broken fixture `mqtt.yaml` covers the errors).
@Suite struct MQTTConfigTests {
    static let plant = """
        name: x
        devices:
          - id: plc
            transport: tcp
            host: 127.0.0.1
            port: 502
            points:
              - { id: p, function: input, address: 0, type: float32, unit: bar }
              - { id: run, function: coil, address: 0 }
        sensors:
          - { id: PT-1, device: plc, point: p, range: [0, 16], quantity: pressure }
        outputs:
          - { id: pump-run, device: plc, point: run, initial: 0, safe: 0 }

        """

    func load(_ body: String) throws -> (plant: PlantConfig?, diagnostics: [String]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString).yaml").path
        try (Self.plant + body).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do { return (try ConfigLoader.loadPlant(path: path).plant, []) } catch {
            return (nil, error.diagnostics.map { $0.description.replacingOccurrences(of: path, with: "F") })
        }
    }

    @Test func noMQTTByDefault() throws {
        let loaded = try load("")
        #expect(loaded.diagnostics == [])
        #expect(loaded.plant != nil && loaded.plant?.mqtt == nil)
    }

    @Test func minimalSectionTakesTheDefaults() throws {
        let loaded = try load("mqtt: { brokers: [mqtt://127.0.0.1], group: plant-a, edge_node: station-1 }\n")
        #expect(loaded.diagnostics == [])
        let mqtt = try #require(loaded.plant?.mqtt)
        #expect(mqtt.brokers == ["mqtt://127.0.0.1"])
        #expect(mqtt.clientID == "vigil-station-1")
        #expect(mqtt.protocolVersion == .v5 && mqtt.dataQoS == 1 && mqtt.keepAliveSeconds == 30)
        #expect(mqtt.publishIntervalMilliseconds == 100 && mqtt.outboxCapacity == 100_000)
        #expect(mqtt.writableOutputs.isEmpty && mqtt.fleet == nil && mqtt.credentialsFile == nil)
    }

    @Test func fullSectionDecodesEveryField() throws {
        let key = Data(repeating: 7, count: 32).base64EncodedString()
        let loaded = try load("""
            mqtt:
              brokers: [mqtts://broker-a.plant:8884, "mqtts://[::1]"]
              client_id: pump-1
              group: plant-a
              edge_node: station-1
              protocol: "3.1.1"
              keepalive_s: 60
              tls: { ca_file: /etc/vigil/ca.pem, cert_file: /etc/vigil/node.pem, key_file: /etc/vigil/node.key }
              credentials_file: /etc/vigil/mqtt-credentials
              publish_interval_ms: 250
              qos: 0
              deadband: 0.5
              deadbands: { PT-1: 0.05 }
              writable_outputs: [pump-run]
              outbox_capacity: 5000
              fleet: { site: north, share_feedback: true, model_key: "\(key)" }

            """)
        #expect(loaded.diagnostics == [])
        let mqtt = try #require(loaded.plant?.mqtt)
        #expect(mqtt.brokers.compactMap { try? MQTTBrokerAddress(parsing: $0) } == [MQTTBrokerAddress(scheme: .mqtts, host: "broker-a.plant", port: 8884),
                                                                                 MQTTBrokerAddress(scheme: .mqtts, host: "::1")])
        #expect(mqtt.clientID == "pump-1" && mqtt.protocolVersion == .v311 && mqtt.keepAliveSeconds == 60)
        #expect(mqtt.tlsCAFile == "/etc/vigil/ca.pem" && mqtt.tlsCertFile == "/etc/vigil/node.pem" && mqtt.tlsKeyFile == "/etc/vigil/node.key")
        #expect(mqtt.credentialsFile == "/etc/vigil/mqtt-credentials")
        #expect(mqtt.publishIntervalMilliseconds == 250 && mqtt.dataQoS == 0 && mqtt.outboxCapacity == 5000)
        #expect(mqtt.deadband(sensor: "PT-1") == 0.05 && mqtt.deadband(sensor: "other") == 0.5)
        #expect(mqtt.writableOutputs == ["pump-run"])
        #expect(mqtt.fleet == FleetConfig(site: "north", shareFeedback: true, modelKey: key))
    }

    @Test func tlsBrokerWithoutCAAndHalfAClientCertificateAreRefused() throws {
        let loaded = try load("""
            mqtt:
              brokers: [mqtts://broker]
              group: g
              edge_node: n
              tls: { ca_file: ca.pem, cert_file: node.pem }

            """)
        #expect(loaded.diagnostics == ["F:18:8: mqtt.tls: found cert_file without key_file, expected both cert_file and key_file for a client certificate, or neither"])
        let noTLS = try load("mqtt: { brokers: [mqtts://broker], group: g, edge_node: n }\n")
        #expect(noTLS.diagnostics.count == 1)
        #expect(noTLS.diagnostics.first?.contains("mqtt.brokers: found mqtts://broker without a tls: section, expected tls.ca_file") == true)
    }

    @Test func missingRequiredKeysAreNamed() throws {
        let loaded = try load("mqtt: { brokers: [] }\n")
        #expect(loaded.diagnostics.contains { $0.contains("mqtt.brokers: found an empty list") })
        #expect(loaded.diagnostics.contains { $0.contains("mqtt.group: found nothing") })
        #expect(loaded.diagnostics.contains { $0.contains("mqtt.edge_node: found nothing") })
    }

    @Test func anAddressWithCredentialsIsRefusedWithoutRepeatingIt() throws {
        let loaded = try load("mqtt: { brokers: [\"mqtt://anna:s3cret@broker\"], group: g, edge_node: n }\n")
        #expect(loaded.diagnostics.count == 1)
        #expect(loaded.diagnostics.first?.contains("found an address with credentials (user@host)") == true)
        #expect(loaded.diagnostics.allSatisfy { !$0.contains("s3cret") })
    }
}
