import Sparkplug
import SwiftProtobuf
import Testing

@Suite struct CommandTests {
    let ncmd = "spBv1.0/plant/NCMD/vigil-1"
    let pumpCmd = "spBv1.0/plant/DCMD/vigil-1/pump"

    func alias(_ name: String, _ layout: SparkplugLayout) -> UInt64 {
        (layout.nodeMetrics + layout.devices.flatMap(\.metrics)).first { $0.name == name }!.alias
    }

    @Test func rebirthByNameOrAlias() throws {
        let layout = try testLayout()
        let byName = try commandPayload([commandMetric(name: "Node Control/Rebirth", datatype: 11) { $0.booleanValue = true }])
        #expect(try layout.decodeCommand(topic: ncmd, payload: byName) == [.rebirth])
        let byAlias = try commandPayload([commandMetric(alias: alias("Node Control/Rebirth", layout)) { $0.booleanValue = true }])
        #expect(try layout.decodeCommand(topic: ncmd, payload: byAlias) == [.rebirth])
        let no = try commandPayload([commandMetric(name: "Node Control/Rebirth", datatype: 11) { $0.booleanValue = false }])
        #expect(throws: HostCommandError.rebirthNotRequested) { try layout.decodeCommand(topic: ncmd, payload: no) }
        let asInt = try commandPayload([commandMetric(name: "Node Control/Rebirth", datatype: 3) { $0.intValue = 1 }])
        #expect(throws: HostCommandError.wrongDataType(metric: "Node Control/Rebirth", datatype: 3)) { try layout.decodeCommand(topic: ncmd, payload: asInt) }
    }

    @Test func writesToAWritableOutputInEveryNumericDatatype() throws {
        let layout = try testLayout()
        let cases: [(UInt32?, (inout SparkplugPayload.Metric) -> Void, Double)] = [
            (10, { $0.doubleValue = 42.5 }, 42.5),
            (nil, { $0.doubleValue = 12 }, 12),
            (9, { $0.floatValue = 1.5 }, 1.5),
            (11, { $0.booleanValue = true }, 1),
            (3, { $0.intValue = UInt32(bitPattern: -7) }, -7),
            (1, { $0.intValue = UInt32(bitPattern: Int32(-3)) }, -3),
            (6, { $0.intValue = 65_535 }, 65_535),
            (4, { $0.longValue = UInt64(bitPattern: -9) }, -9),
            (8, { $0.longValue = 1 << 40 }, 1_099_511_627_776),
        ]
        for (datatype, set, expected) in cases {
            let payload = try commandPayload([commandMetric(name: "Outputs/speed/Value", datatype: datatype, set)])
            #expect(try layout.decodeCommand(topic: pumpCmd, payload: payload) == [.writeOutput(device: "pump", output: "speed", value: expected)])
        }
        let byAlias = try commandPayload([commandMetric(alias: alias("Outputs/lamp/Value", layout), datatype: 11) { $0.booleanValue = true }])
        #expect(try layout.decodeCommand(topic: "spBv1.0/plant/DCMD/vigil-1/gpio", payload: byAlias)
                == [.writeOutput(device: "gpio", output: "lamp", value: 1)])
    }

    @Test func refusesWhatTheLayoutDoesNotAllow() throws {
        let layout = try testLayout()
        func refusal(_ topic: String, _ metrics: [SparkplugPayload.Metric]) throws -> HostCommandError? {
            let payload = try commandPayload(metrics)
            do { _ = try layout.decodeCommand(topic: topic, payload: payload); return nil } catch { return error }
        }
        let tankCmd = "spBv1.0/plant/DCMD/vigil-1/tank"
        #expect(try refusal(tankCmd, [commandMetric(name: "Outputs/valve/Value", datatype: 10) { $0.doubleValue = 1 }]) == .notWritable(metric: "Outputs/valve/Value"))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Sensors/pt1/Value", datatype: 10) { $0.doubleValue = 1 }]) == .notWritable(metric: "Sensors/pt1/Value"))
        #expect(try refusal(ncmd, [commandMetric(name: "Controller/Safe State", datatype: 11) { $0.booleanValue = false }]) == .notWritable(metric: "Controller/Safe State"))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/valve/Value", datatype: 10) { $0.doubleValue = 1 }]) == .unknownMetric(name: "Outputs/valve/Value", alias: nil))
        #expect(try refusal(pumpCmd, [commandMetric(alias: 9_999, datatype: 10) { $0.doubleValue = 1 }]) == .unknownMetric(name: nil, alias: 9_999))
        #expect(try refusal(pumpCmd, [commandMetric(datatype: 10) { $0.doubleValue = 1 }]) == .unknownMetric(name: nil, alias: nil))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/speed/Value", alias: alias("Sensors/pt1/Value", layout), datatype: 10) { $0.doubleValue = 1 }])
                == .unknownMetric(name: "Outputs/speed/Value", alias: alias("Sensors/pt1/Value", layout)))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/speed/Value", datatype: 12) { $0.stringValue = "1" }]) == .wrongDataType(metric: "Outputs/speed/Value", datatype: 12))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/speed/Value", datatype: 10) { $0.floatValue = 1 }]) == .wrongDataType(metric: "Outputs/speed/Value", datatype: 10))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/speed/Value") { $0.intValue = 1 }]) == .wrongDataType(metric: "Outputs/speed/Value", datatype: 10))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/speed/Value", datatype: 10) { $0.isNull = true }]) == .wrongDataType(metric: "Outputs/speed/Value", datatype: 10))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/speed/Value", datatype: 10) { $0.doubleValue = .nan }]) == .notFinite(metric: "Outputs/speed/Value"))
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/speed/Value", datatype: 9) { $0.floatValue = -.infinity }]) == .notFinite(metric: "Outputs/speed/Value"))
        // One bad metric refuses the whole message.
        #expect(try refusal(pumpCmd, [commandMetric(name: "Outputs/speed/Value", datatype: 10) { $0.doubleValue = 1 },
                                      commandMetric(name: "Sensors/pt2/Value", datatype: 10) { $0.doubleValue = 1 }]) == .notWritable(metric: "Sensors/pt2/Value"))
        #expect(try refusal(pumpCmd, []) == .noMetrics)
        #expect(try refusal("spBv1.0/plant/DCMD/vigil-1/spare", []) == .unknownDevice("spare"))
        #expect(try refusal("spBv1.0/plant/NCMD/vigil-2", []) == .wrongTopic("spBv1.0/plant/NCMD/vigil-2"))
        #expect(try refusal("spBv1.0/other/NCMD/vigil-1", []) == .wrongTopic("spBv1.0/other/NCMD/vigil-1"))
        #expect(try refusal("spBv1.0/plant/NDATA/vigil-1", []) == .wrongTopic("spBv1.0/plant/NDATA/vigil-1"))
        #expect(try refusal("not/a/topic", []) == .wrongTopic("not/a/topic"))
    }

    @Test func refusesMalformedProtobuf() throws {
        let layout = try testLayout()
        for bytes: [UInt8] in [[0xFF], [0x12, 0x05, 0x0A], [0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]] {
            #expect {
                _ = try layout.decodeCommand(topic: pumpCmd, payload: bytes)
            } throws: { error in
                if case .malformedPayload = error as? HostCommandError { return true }
                return false
            }
        }
    }
}
