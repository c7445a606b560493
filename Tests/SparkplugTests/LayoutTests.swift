import Sparkplug
import Testing
import VigilCore

@Suite struct LayoutTests {
    @Test func nodeMetricsCarryControllerStateGroupsAndEvents() throws {
        let layout = try testLayout()
        #expect(layout.nodeMetrics.map(\.name) == [
            "bdSeq", "Node Control/Rebirth", "Controller/Safe State", "Controller/Safe State Reasons",
            "Controller/Tripped Interlocks", "Controller/Active Alarms", "Controller/Annunciated Alarms",
            "Controller/Trust Score", "Controller/Model Version", "Groups/pressure/Value", "Groups/pressure/Active Source",
            "Events/Monitor", "Events/Alarm",
        ])
        #expect(layout.nodeMetrics.map(\.type) == [.int64, .boolean, .boolean, .string, .string, .int32, .int32, .double, .int64,
                                                   .double, .string, .string, .string])
        #expect(layout.nodeMetrics.filter(\.writable).map(\.name) == ["Node Control/Rebirth"])
        let group = try #require(layout.nodeMetrics.first { $0.name == "Groups/pressure/Value" })
        #expect(group.unit == "bar" && group.deadband == 0.2 && group.low == 0 && group.high == 16)
    }

    @Test func oneDevicePerModbusDeviceWithMetricsAndGPIOLast() throws {
        let layout = try testLayout()
        #expect(layout.devices.map(\.id) == ["pump", "tank", "gpio"]) // "spare" has no sensor or output
        let pump = layout.devices[0].metrics
        #expect(pump.map(\.name) == ["Sensors/pt1/Value", "Sensors/pt1/Quality", "Sensors/pt1/Health",
                                     "Sensors/pt2/Value", "Sensors/pt2/Quality", "Sensors/pt2/Health", "Outputs/speed/Value"])
        #expect(pump.map(\.type) == [.double, .string, .string, .double, .string, .string, .double])
        #expect(pump[0].unit == "bar" && pump[0].deadband == 0.5 && pump[3].deadband == 0)
        #expect(layout.devices[1].metrics.last?.name == "Outputs/valve/Value" && layout.devices[1].metrics.last?.writable == false)
        #expect(layout.devices[2].metrics.map(\.name) == ["Sensors/door/Value", "Sensors/door/Quality", "Sensors/door/Health", "Outputs/lamp/Value"])
        #expect(layout.devices[2].metrics.last?.writable == true)
    }

    @Test func aliasesAreUniqueAcrossNodeAndDevices() throws {
        let layout = try testLayout()
        let aliases = (layout.nodeMetrics + layout.devices.flatMap(\.metrics)).map(\.alias)
        #expect(aliases == Array(1 ... UInt64(aliases.count)))
    }

    @Test func refusesBadConfiguration() {
        #expect(throws: SparkplugLayoutError.unknownWritableOutput("pump")) {
            try SparkplugLayout(plant: testPlant, groupID: "g", edgeNodeID: "n", writableOutputs: ["pump"])
        }
        #expect(throws: SparkplugLayoutError.unknownDeadbandKey("pt9")) {
            try SparkplugLayout(plant: testPlant, groupID: "g", edgeNodeID: "n", deadbands: ["pt9": 1])
        }
        #expect(throws: SparkplugLayoutError.invalidDeadband(key: "pt1", value: -1)) {
            try SparkplugLayout(plant: testPlant, groupID: "g", edgeNodeID: "n", deadbands: ["pt1": -1])
        }
        #expect(throws: SparkplugLayoutError.invalidID(.invalidID(role: "group", id: "a+"))) {
            try SparkplugLayout(plant: testPlant, groupID: "a+", edgeNodeID: "n")
        }
        var plant = testPlant
        plant.devices[2].id = "gpio"
        #expect(throws: SparkplugLayoutError.gpioDeviceIDTaken("gpio")) { try SparkplugLayout(plant: plant, groupID: "g", edgeNodeID: "n") }
        plant.devices[2].id = "a/b"
        #expect(throws: SparkplugLayoutError.invalidID(.invalidID(role: "device", id: "a/b"))) { try SparkplugLayout(plant: plant, groupID: "g", edgeNodeID: "n") }
    }

    @Test func qualityTextLeavesOutTheAgeOfAHeldValue() {
        #expect(EdgeSample.qualityText(.good) == "good")
        #expect(EdgeSample.qualityText(.stale(ageNanoseconds: 1)) == EdgeSample.qualityText(.stale(ageNanoseconds: 9_000_000_000)))
        #expect(EdgeSample.qualityText(.bad(.timeout)) == "bad: timeout")
    }
}
