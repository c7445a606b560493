import Foundation
import Sparkplug
import Testing

/// What the edge node publishes, decoded by a third-party Sparkplug library (pysparkplug 0.6.1, its own
/// protobuf decoder and alias resolution) through hil/mqtt/sparkplug-decode.py.
@Suite struct InteropTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the decoder on the messages, in order; returns its JSON, one object per message.
    func decodeWithPysparkplug(_ messages: [SparkplugMessage]) throws -> [[String: Any]] {
        let python = Self.root.appendingPathComponent(".build-py/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path),
                     "no .build-py venv with pysparkplug: run scripts/install-deps (it runs `/usr/bin/python3 -m venv .build-py && .build-py/bin/pip install pysparkplug==0.6.1`)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparkplug-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var arguments = [Self.root.appendingPathComponent("hil/mqtt/sparkplug-decode.py").path]
        for (i, message) in messages.enumerated() {
            let file = dir.appendingPathComponent("\(i).bin")
            try Data(message.payload).write(to: file)
            arguments.append("\(message.topic)=\(file.path)")
        }
        let process = Process()
        process.executableURL = python
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "sparkplug-decode.py failed: \(String(decoding: stderr, as: UTF8.self))")
        return try #require(try JSONSerialization.jsonObject(with: stdout) as? [[String: Any]])
    }

    func metrics(_ message: [String: Any]) -> [[String: Any]] { message["metrics"] as? [[String: Any]] ?? [] }
    func named(_ message: [String: Any], _ name: String) -> [String: Any]? { metrics(message).first { $0["name"] as? String == name } }

    @Test func pysparkplugDecodesBirthsDataHistoricalBacklogAndDeaths() throws {
        let layout = try testLayout()
        var node = SparkplugEdgeNode(layout: layout, firstBdSeq: 5)
        let will = node.newSession(timestamp: 1_700_000_000_000)
        var messages = try node.birth(testSample(1_700_000_000_100))
        let births = messages.count
        var sample = testSample(1_700_000_000_200, pt1: 5.75, speed: 47)
        sample.sensorQualities[1] = "bad: timeout"
        sample.activeAlarms = 1
        messages += try node.changes(sample).map { node.sequenced($0) }
        messages.append(node.sequenced(node.alarmChange("lt1 low raised", timestamp: 1_700_000_000_250)))
        let stored = try node.changes(testSample(1_700_000_000_300, pt1: 7, speed: 48)).map { $0.encoded() }
        messages += try stored.map { node.sequenced(try SparkplugUnsequenced(encoded: $0), historical: true, sentAt: 1_700_000_000_400) }
        messages.append(node.sequenced(try #require(node.deviceDeath("tank", timestamp: 1_700_000_000_500))))
        messages.append(will)

        let decoded = try decodeWithPysparkplug(messages)
        #expect(decoded.count == messages.count)
        #expect(decoded.map { $0["topic"] as? String } == messages.map(\.topic))
        #expect(decoded.map { $0["seq"] as? Int } == (0 ..< messages.count - 1).map { Optional($0 % 256) } + [nil])

        let nbirth = decoded[0]
        #expect(nbirth["message_type"] as? String == "NBIRTH" && nbirth["edge_node_id"] as? String == "vigil-1")
        #expect(metrics(nbirth).compactMap { $0["name"] as? String } == layout.nodeMetrics.map(\.name))
        #expect(metrics(nbirth).map { $0["datatype_id"] as? Int } == layout.nodeMetrics.map { Int($0.type.rawValue) })
        #expect(named(nbirth, "bdSeq")?["value"] as? Int == 5)
        #expect(named(nbirth, "Controller/Trust Score")?["value"] as? Double == 0.9)
        #expect(named(nbirth, "Controller/Safe State")?["value"] as? Bool == false)
        #expect(named(nbirth, "Groups/pressure/Active Source")?["value"] as? String == "pt1")
        let group = try #require(named(nbirth, "Groups/pressure/Value"))
        #expect((group["properties"] as? [String: Any])?["engUnit"] as? String == "bar")
        #expect(group["alias"] as? Int == layout.nodeMetrics.first { $0.name == "Groups/pressure/Value" }?.alias.map(Int.init))

        for d in 0 ..< layout.devices.count {
            let dbirth = decoded[1 + d]
            #expect(dbirth["device_id"] as? String == layout.devices[d].id)
            #expect(metrics(dbirth).compactMap { $0["name"] as? String } == layout.devices[d].metrics.map(\.name))
        }
        let pumpBirth = decoded[1]
        #expect(named(pumpBirth, "Sensors/pt1/Value")?["value"] as? Double == 5)
        #expect((named(pumpBirth, "Sensors/pt1/Value")?["properties"] as? [String: Any])?["engHigh"] as? Double == 16)
        #expect((named(pumpBirth, "Outputs/speed/Value")?["properties"] as? [String: Any])?["writable"] as? Bool == true)

        // Live data: names resolved by pysparkplug from the aliases of the births.
        let ndata = decoded[births]
        #expect(ndata["message_type"] as? String == "NDATA")
        #expect(named(ndata, "Groups/pressure/Value")?["value"] as? Double == 5.75)
        #expect(named(ndata, "Controller/Active Alarms")?["value"] as? Int == 1)
        let ddata = decoded[births + 1]
        #expect(ddata["device_id"] as? String == "pump")
        #expect(Set(metrics(ddata).compactMap { $0["name"] as? String })
                == ["Sensors/pt1/Value", "Sensors/pt2/Value", "Sensors/pt2/Quality", "Outputs/speed/Value"])
        #expect(named(ddata, "Sensors/pt2/Quality")?["value"] as? String == "bad: timeout")
        #expect(named(ddata, "Outputs/speed/Value")?["value"] as? Double == 47)
        #expect(metrics(ddata).allSatisfy { $0["is_historical"] as? Bool == false && $0["timestamp"] as? Int == 1_700_000_000_200 })
        let alarm = decoded[births + 2]
        #expect(named(alarm, "Events/Alarm")?["value"] as? String == "lt1 low raised")

        // The backlog: historical, original metric timestamps, sequenced when sent.
        let backlog = decoded[(births + 3) ..< (births + 3 + stored.count)]
        #expect(!backlog.isEmpty)
        for message in backlog {
            #expect(message["timestamp"] as? Int == 1_700_000_000_400)
            #expect(metrics(message).allSatisfy { $0["is_historical"] as? Bool == true && $0["timestamp"] as? Int == 1_700_000_000_300 })
        }
        #expect(backlog.contains { named($0, "Outputs/speed/Value")?["value"] as? Double == 48 })

        let ddeath = decoded[decoded.count - 2]
        #expect(ddeath["message_type"] as? String == "DDEATH" && ddeath["device_id"] as? String == "tank")
        let ndeath = try #require(decoded.last)
        #expect(ndeath["message_type"] as? String == "NDEATH")
        #expect(named(ndeath, "bdSeq")?["value"] as? Int == 5)
    }
}
