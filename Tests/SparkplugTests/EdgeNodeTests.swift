import Sparkplug
import SwiftProtobuf
import Testing
import VigilCore

@Suite struct EdgeNodeTests {
    @Test func birthIsNBIRTHWithEveryNodeMetricThenOneDBIRTHPerDevice() throws {
        let layout = try testLayout()
        var node = SparkplugEdgeNode(layout: layout, firstBdSeq: 7)
        _ = node.newSession(timestamp: 1_000)
        var sample = testSample(2_000)
        sample.safeStateReasons = ["watchdog", "interlock"]
        sample.trippedInterlocks = ["hi-pressure"]
        sample.activeAlarms = 2
        let births = try node.birth(sample)
        #expect(births.map(\.topic) == ["spBv1.0/plant/NBIRTH/vigil-1", "spBv1.0/plant/DBIRTH/vigil-1/pump",
                                        "spBv1.0/plant/DBIRTH/vigil-1/tank", "spBv1.0/plant/DBIRTH/vigil-1/gpio"])
        let nbirth = try decodePayload(births[0].payload)
        #expect(nbirth.seq == 0 && nbirth.timestamp == 2_000)
        #expect(nbirth.metrics.map(\.name) == layout.nodeMetrics.map(\.name))
        #expect(nbirth.metrics.allSatisfy { $0.hasName && $0.hasAlias && $0.hasDatatype && $0.timestamp == 2_000 })
        #expect(nbirth.metrics.map(\.alias) == layout.nodeMetrics.map(\.alias))
        #expect(nbirth.metrics[0].longValue == 7 && nbirth.metrics[0].datatype == 4)
        #expect(metric(nbirth, "Node Control/Rebirth", in: layout)?.booleanValue == false)
        #expect(metric(nbirth, "Controller/Safe State", in: layout)?.booleanValue == true)
        #expect(metric(nbirth, "Controller/Safe State Reasons", in: layout)?.stringValue == "watchdog, interlock")
        #expect(metric(nbirth, "Controller/Tripped Interlocks", in: layout)?.stringValue == "hi-pressure")
        #expect(metric(nbirth, "Controller/Active Alarms", in: layout)?.intValue == 2)
        #expect(metric(nbirth, "Controller/Trust Score", in: layout)?.doubleValue == 0.9)
        #expect(metric(nbirth, "Controller/Model Version", in: layout)?.longValue == 3)
        #expect(metric(nbirth, "Groups/pressure/Active Source", in: layout)?.stringValue == "pt1")
        let group = try #require(metric(nbirth, "Groups/pressure/Value", in: layout))
        #expect(group.doubleValue == 5 && group.properties.keys == ["engUnit", "engLow", "engHigh"])
        #expect(group.properties.values[0].stringValue == "bar")
        #expect(metric(nbirth, "Events/Alarm", in: layout)?.stringValue == "")

        for (i, birth) in births.dropFirst().enumerated() {
            let payload = try decodePayload(birth.payload)
            #expect(payload.seq == UInt64(i + 1))
            #expect(payload.metrics.map(\.name) == layout.devices[i].metrics.map(\.name))
        }
        let pump = try decodePayload(births[1].payload)
        #expect(metric(pump, "Sensors/pt2/Value", in: layout)?.doubleValue == 5.1)
        #expect(metric(pump, "Sensors/pt1/Quality", in: layout)?.stringValue == "good")
        #expect(metric(pump, "Sensors/pt1/Health", in: layout)?.stringValue == "healthy")
        let speed = try #require(metric(pump, "Outputs/speed/Value", in: layout))
        #expect(speed.doubleValue == 40 && speed.properties.keys == ["writable"] && speed.properties.values[0].booleanValue)
        let tank = try decodePayload(births[2].payload)
        #expect(metric(tank, "Outputs/valve/Value", in: layout)?.properties.values.first?.booleanValue == false)
        #expect(node.seq == 4)
    }

    @Test func unreadValuesAreSentAsNull() throws {
        let layout = try testLayout()
        var node = SparkplugEdgeNode(layout: layout)
        let births = try node.birth(EdgeSample(unreadFor: layout, timestamp: 5))
        let nbirth = try decodePayload(births[0].payload)
        let trust = try #require(metric(nbirth, "Controller/Trust Score", in: layout))
        #expect(trust.isNull && trust.value == nil && trust.datatype == 10)
        let pump = try decodePayload(births[1].payload)
        #expect(metric(pump, "Sensors/pt1/Value", in: layout)?.isNull == true)
        #expect(metric(pump, "Sensors/pt1/Quality", in: layout)?.stringValue == "bad: not yet read")
    }

    @Test func deathCarriesTheSessionBdSeqAndNoSeq() throws {
        var node = SparkplugEdgeNode(layout: try testLayout(), firstBdSeq: 254)
        let will1 = try decodePayload(node.newSession(timestamp: 10).payload)
        #expect(will1.metrics.count == 1 && will1.metrics[0].name == "bdSeq" && will1.metrics[0].longValue == 254 && !will1.hasSeq)
        #expect(will1.metrics[0].datatype == 4 && !will1.metrics[0].hasAlias)
        let nbirth = try decodePayload(try node.birth(testSample(11))[0].payload)
        #expect(metric(nbirth, "bdSeq", in: node.layout)?.longValue == 254)
        #expect(node.newSession(timestamp: 12).topic == "spBv1.0/plant/NDEATH/vigil-1")
        #expect(node.bdSeq == 255)
        _ = node.newSession(timestamp: 13)
        #expect(node.bdSeq == 0)
        #expect(try decodePayload(node.death(timestamp: 14).payload).metrics[0].longValue == 0)
    }

    @Test func seqWrapsAfter255AndBirthRestartsAtZero() throws {
        var node = SparkplugEdgeNode(layout: try testLayout())
        _ = try node.birth(testSample(1))
        var seqs: [UInt64] = []
        for i in 0 ..< 300 {
            let change = node.monitorEvent("event \(i)", timestamp: UInt64(10 + i))
            seqs.append(try decodePayload(node.sequenced(change).payload).seq)
        }
        #expect(seqs.first == 4)
        #expect(seqs[251] == 255 && seqs[252] == 0)
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == ($0 + 1) % 256 })
        let rebirth = try node.birth(testSample(400))
        #expect(try decodePayload(rebirth[0].payload).seq == 0)
    }

    @Test func rebirthKeepsBdSeqAndPublishesCurrentValues() throws {
        let layout = try testLayout()
        var node = SparkplugEdgeNode(layout: layout, firstBdSeq: 3)
        _ = node.newSession(timestamp: 0)
        _ = try node.birth(testSample(1))
        _ = try node.changes(testSample(2, speed: 55))
        let event = node.alarmChange("hi-pressure raised", timestamp: 3)
        #expect(event.carriesAlarm)
        let ncmd = try commandPayload([commandMetric(name: "Node Control/Rebirth", datatype: 11) { $0.booleanValue = true }])
        #expect(try layout.decodeCommand(topic: "spBv1.0/plant/NCMD/vigil-1", payload: ncmd) == [.rebirth])
        let births = try node.birth(testSample(4, speed: 55))
        let nbirth = try decodePayload(births[0].payload)
        #expect(nbirth.seq == 0 && node.bdSeq == 3)
        #expect(metric(nbirth, "bdSeq", in: layout)?.longValue == 3)
        #expect(metric(nbirth, "Events/Alarm", in: layout)?.stringValue == "hi-pressure raised")
        #expect(metric(try decodePayload(births[1].payload), "Outputs/speed/Value", in: layout)?.doubleValue == 55)
    }

    @Test func reportsByExceptionWithAbsoluteDeadbands() throws {
        let layout = try testLayout()
        var node = SparkplugEdgeNode(layout: layout)
        _ = try node.birth(testSample(1))
        #expect(try node.changes(testSample(2)).isEmpty)
        // pt1 moves 0.4 (deadband 0.5) and its group 0.4 (deadband 0.2); pt2 (no deadband) moves 0.01.
        let first = try node.changes(testSample(3, pt1: 5.4, pt2: 5.11))
        #expect(first.map(\.topic.string) == ["spBv1.0/plant/NDATA/vigil-1", "spBv1.0/plant/DDATA/vigil-1/pump"])
        let ndata = try decodePayload(node.sequenced(first[0]).payload)
        #expect(ndata.metrics.count == 1 && !ndata.metrics[0].hasName && ndata.metrics[0].hasAlias && !ndata.metrics[0].hasDatatype)
        #expect(ndata.metrics[0].timestamp == 3)
        #expect(metric(ndata, "Groups/pressure/Value", in: layout)?.doubleValue == 5.4)
        let ddata = try decodePayload(node.sequenced(first[1]).payload)
        #expect(ddata.metrics.count == 1 && metric(ddata, "Sensors/pt2/Value", in: layout)?.doubleValue == 5.11)
        // The reference is the last value reported: 5.75 is 0.35 from the last sample but 0.75 from 5.
        let second = try node.changes(testSample(4, pt1: 5.75, pt2: 5.11))
        let pump = try decodePayload(node.sequenced(try #require(second.first { $0.topic.deviceID == "pump" })).payload)
        #expect(pump.metrics.count == 1 && metric(pump, "Sensors/pt1/Value", in: layout)?.doubleValue == 5.75)
        #expect(node.lastValue("Sensors/pt1/Value", device: "pump") == .double(5.75))
        // Exactly the deadband does not report; to and from null always does.
        #expect(try node.changes(testSample(5, pt1: 6.25, pt2: 5.11)).allSatisfy { $0.topic.deviceID != "pump" })
        let toNull = try node.changes(testSample(6, pt1: .nan, pt2: 5.11))
        let nulled = try decodePayload(node.sequenced(try #require(toNull.first { $0.topic.deviceID == "pump" })).payload)
        #expect(metric(nulled, "Sensors/pt1/Value", in: layout)?.isNull == true)
        #expect(try node.changes(testSample(7, pt1: .nan, pt2: 5.11)).allSatisfy { $0.topic.deviceID != "pump" })
    }

    @Test func qualityOrHealthChangesAlwaysReportWithTheValue() throws {
        let layout = try testLayout()
        var node = SparkplugEdgeNode(layout: layout)
        _ = try node.birth(testSample(1))
        var sample = testSample(2, pt1: 5.1) // within pt1's deadband
        sample.sensorQualities[0] = EdgeSample.qualityText(.stale(ageNanoseconds: 5))
        let stale = try node.changes(sample)
        let ddata = try decodePayload(node.sequenced(try #require(stale.first { $0.topic.deviceID == "pump" })).payload)
        #expect(metric(ddata, "Sensors/pt1/Quality", in: layout)?.stringValue == "stale")
        #expect(metric(ddata, "Sensors/pt1/Value", in: layout)?.doubleValue == 5.1)
        #expect(ddata.metrics.count == 2)
        sample.timestamp = 3
        sample.sensorQualities[0] = EdgeSample.qualityText(.stale(ageNanoseconds: 500_000_000))
        #expect(try node.changes(sample).allSatisfy { $0.topic.deviceID != "pump" })
        sample.sensorHealth[2] = "suspect"
        let health = try node.changes(sample)
        let tank = try decodePayload(node.sequenced(try #require(health.first { $0.topic.deviceID == "tank" })).payload)
        #expect(metric(tank, "Sensors/lt1/Health", in: layout)?.stringValue == "suspect")
        #expect(metric(tank, "Sensors/lt1/Value", in: layout)?.doubleValue == 2)
    }

    @Test func controllerStateChangesReportOnTheNode() throws {
        let layout = try testLayout()
        var node = SparkplugEdgeNode(layout: layout)
        _ = try node.birth(testSample(1))
        var sample = testSample(2)
        sample.safeStateReasons = ["interlock"]
        sample.trippedInterlocks = ["hi-pressure"]
        sample.annunciatedAlarms = 1
        sample.groupActiveSources = ["pt2"]
        sample.modelVersion = 4
        let changes = try node.changes(sample)
        #expect(changes.count == 1)
        let ndata = try decodePayload(node.sequenced(changes[0]).payload)
        #expect(metric(ndata, "Controller/Safe State", in: layout)?.booleanValue == true)
        #expect(metric(ndata, "Controller/Tripped Interlocks", in: layout)?.stringValue == "hi-pressure")
        #expect(metric(ndata, "Controller/Annunciated Alarms", in: layout)?.intValue == 1)
        #expect(metric(ndata, "Groups/pressure/Active Source", in: layout)?.stringValue == "pt2")
        #expect(metric(ndata, "Controller/Model Version", in: layout)?.longValue == 4)
        #expect(ndata.metrics.count == 6) // also the safe state reasons
    }

    @Test func storedChangesAreSequencedAtSendTimeAndMarkedHistorical() throws {
        let layout = try testLayout()
        var node = SparkplugEdgeNode(layout: layout)
        _ = try node.birth(testSample(1_000))
        // While the broker is unreachable: kept as bytes.
        var outbox: [[UInt8]] = []
        outbox += try node.changes(testSample(2_000, speed: 41)).map { $0.encoded() }
        outbox.append(node.alarmChange("lt1 low raised", timestamp: 2_500).encoded())
        outbox += try node.changes(testSample(3_000, speed: 42)).map { $0.encoded() }
        #expect(outbox.count == 3)
        // Reconnected: a new session, births, then the backlog as historical metrics in order.
        _ = node.newSession(timestamp: 4_000)
        let births = try node.birth(testSample(4_000, speed: 42))
        let sent = try outbox.map { node.sequenced(try SparkplugUnsequenced(encoded: $0), historical: true, sentAt: 4_001) }
        let payloads = try sent.map { try decodePayload($0.payload) }
        #expect(payloads.map(\.seq) == [UInt64(births.count), UInt64(births.count + 1), UInt64(births.count + 2)])
        #expect(sent.map(\.topic) == ["spBv1.0/plant/DDATA/vigil-1/pump", "spBv1.0/plant/NDATA/vigil-1", "spBv1.0/plant/DDATA/vigil-1/pump"])
        #expect(payloads.allSatisfy { $0.timestamp == 4_001 && $0.metrics.allSatisfy(\.isHistorical) })
        #expect(payloads.map { $0.metrics[0].timestamp } == [2_000, 2_500, 3_000])
        #expect(metric(payloads[0], "Outputs/speed/Value", in: layout)?.doubleValue == 41)
        #expect(try SparkplugUnsequenced(encoded: outbox[1]).carriesAlarm)
        #expect(try !SparkplugUnsequenced(encoded: outbox[0]).carriesAlarm)
        // Sent live, the same change is not historical and keeps its own timestamp.
        let live = try decodePayload(node.sequenced(try SparkplugUnsequenced(encoded: outbox[0])).payload)
        #expect(!live.metrics[0].isHistorical && !live.metrics[0].hasIsHistorical && live.timestamp == 2_000)
    }

    @Test func storedBytesThatAreNotAChangeAreRefused() throws {
        #expect(throws: SparkplugStoreError.truncated(length: 2)) { try SparkplugUnsequenced(encoded: [0, 9]) }
        #expect(throws: SparkplugStoreError.truncated(length: 4)) { try SparkplugUnsequenced(encoded: [0, 9, 65, 66]) }
        let birth = Array("spBv1.0/g/NBIRTH/n".utf8)
        #expect(throws: SparkplugStoreError.notDataTopic("spBv1.0/g/NBIRTH/n")) {
            try SparkplugUnsequenced(encoded: [0, UInt8(birth.count)] + birth + [0])
        }
        let data = Array("spBv1.0/g/NDATA/n".utf8)
        #expect(throws: SparkplugStoreError.self) { try SparkplugUnsequenced(encoded: [0, UInt8(data.count)] + data + [0, 0xFF, 0xFF]) }
        let node = SparkplugEdgeNode(layout: try testLayout())
        let ddeath = try #require(node.deviceDeath("tank", timestamp: 9))
        let back = try SparkplugUnsequenced(encoded: ddeath.encoded())
        #expect(back == ddeath && back.topic.string == "spBv1.0/plant/DDEATH/vigil-1/tank" && back.metricCount == 0)
        #expect(node.deviceDeath("spare", timestamp: 9) == nil)
    }

    @Test func aSampleOfTheWrongShapeIsRefused() throws {
        var node = SparkplugEdgeNode(layout: try testLayout())
        var sample = testSample(1)
        sample.outputs.removeLast()
        #expect(throws: SparkplugSampleError.countMismatch(field: "outputs", expected: 3, found: 2)) { try node.birth(sample) }
        sample = testSample(1)
        sample.sensorHealth.append("healthy")
        #expect(throws: SparkplugSampleError.countMismatch(field: "sensorHealth", expected: 4, found: 5)) { try node.changes(sample) }
    }
}
