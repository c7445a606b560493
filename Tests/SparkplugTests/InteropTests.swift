import Foundation
import Sparkplug
import Testing

/// What the edge node publishes, decoded by a third-party Sparkplug library (pysparkplug 0.6.1, its own
/// protobuf decoder and alias resolution) through hil/mqtt/sparkplug-decode.py.
@Suite struct InteropTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The venv's Python; a failed requirement (not a skip) when scripts/install-deps has not made it.
    func python() throws -> URL {
        let python = Self.root.appendingPathComponent(".build-py/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path),
                     "no .build-py venv with pysparkplug: run scripts/install-deps (it runs `/usr/bin/python3 -m venv .build-py && .build-py/bin/pip install pysparkplug==0.6.1`)")
        return python
    }

    /// Runs the venv's Python with these arguments; returns its standard output, requiring exit status 0.
    func runPython(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = try python()
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python \(arguments.first ?? ""): \(String(decoding: stderr, as: UTF8.self))")
        return stdout
    }

    /// Runs the decoder on the messages, in order; returns its JSON, one object per message.
    func decodeWithPysparkplug(_ messages: [SparkplugMessage]) throws -> [[String: Any]] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparkplug-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var arguments = [Self.root.appendingPathComponent("hil/mqtt/sparkplug-decode.py").path]
        for (i, message) in messages.enumerated() {
            let file = dir.appendingPathComponent("\(i).bin")
            try Data(message.payload).write(to: file)
            arguments.append("\(message.topic)=\(file.path)")
        }
        return try #require(try JSONSerialization.jsonObject(with: try runPython(arguments)) as? [[String: Any]])
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
        #expect(group["alias"] as? Int == layout.nodeMetrics.first { $0.name == "Groups/pressure/Value" }.map { Int($0.alias) })

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
        #expect(named(ddata, "Outputs/speed/Value")?["datatype_id"] as? Int == 10) // left out of DATA, known from the DBIRTH
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

    /// The other direction: commands a host encodes with pysparkplug (by name, by alias, with and
    /// without datatypes, as its encoder chooses) decode to the same commands here.
    @Test func commandsEncodedByPysparkplugDecode() throws {
        let layout = try testLayout()
        let speed = try #require(layout.devices[0].metrics.first { $0.name == "Outputs/speed/Value" }).alias
        let script = """
            import pysparkplug as psp
            def cmd(kind, metric, dtypes):
                print(kind(timestamp=1700000000000, metrics=(metric,)).encode(include_dtypes=dtypes).hex())
            cmd(psp.NCmd, psp.Metric(timestamp=None, name="Node Control/Rebirth", datatype=psp.DataType.BOOLEAN, value=True), True)
            cmd(psp.DCmd, psp.Metric(timestamp=None, name="Outputs/speed/Value", datatype=psp.DataType.DOUBLE, value=42.5), False)
            cmd(psp.DCmd, psp.Metric(timestamp=None, name=None, alias=\(speed), datatype=psp.DataType.INT32, value=-3), True)
            cmd(psp.DCmd, psp.Metric(timestamp=None, name="Outputs/speed/Value", datatype=psp.DataType.STRING, value="7"), True)
            """
        let lines = String(decoding: try runPython(["-c", script]), as: UTF8.self).split(separator: "\n")
        try #require(lines.count == 4)
        let payloads = lines.map { line in
            let hex = Array(line.utf8)
            return stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(decoding: hex[$0 ... $0 + 1], as: UTF8.self), radix: 16) }
        }
        #expect(zip(payloads, lines).allSatisfy { $0.count * 2 == $1.count })
        let ncmd = "spBv1.0/plant/NCMD/vigil-1", dcmd = "spBv1.0/plant/DCMD/vigil-1/pump"
        #expect(try layout.decodeCommand(topic: ncmd, payload: payloads[0]) == [.rebirth])
        #expect(try layout.decodeCommand(topic: dcmd, payload: payloads[1]) == [.writeOutput(device: "pump", output: "speed", value: 42.5)])
        #expect(try layout.decodeCommand(topic: dcmd, payload: payloads[2]) == [.writeOutput(device: "pump", output: "speed", value: -3)])
        #expect(throws: HostCommandError.wrongDataType(metric: "Outputs/speed/Value", datatype: 12)) {
            try layout.decodeCommand(topic: dcmd, payload: payloads[3])
        }
    }
}
