import Testing
import Foundation
import Config
import HIL
import Monitor
@testable import Scenarios

/// What plant engineers ask of a run, in the scenario format: failover counts, "never fails over to
/// X", the active source at a time, the kind of diagnosis, how many alarms and of which priority,
/// outputs never latched safe, repeating faults, GPIO faults.
@Suite struct ScenarioFormatTests {
    static let header = """
        name: t
        config: ../../configs/demo-pump-station.yaml
        cycles: 1000

        """

    func problems(_ text: String) -> [String] {
        do {
            _ = try ScenarioDecoder.decode(text, file: "hil/scenarios/bad.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func theNewExpectationsDecode() throws {
        let s = try ScenarioDecoder.decode(Self.header + """
        expect:
          - failovers: { group: discharge-pressure, max: 1 }
          - failovers: { count: 0 }
          - no_failover: { to: PT-101C }
          - no_failover: { group: discharge-pressure, to: PT-101A }
          - active_source: { group: discharge-pressure, sensor: PT-101B, at: 500 }
          - diagnosis: { target: rtu-temps, cause: bus, within_cycles: 80 }
          - no_diagnosis: { target: TT-310, cause: sensor }
          - no_diagnosis
          - alarms: { max: 1 }
          - alarms: { target: discharge-pressure, priority: safety, min: 1, from: 200 }
          - no_latched_outputs
          - no_latched_outputs: [pump1-run, pump1-speed]
        """, file: "hil/scenarios/t.yaml")
        #expect(s.expectations == [
            .failoverCount(group: "discharge-pressure", min: nil, max: 1),
            .failoverCount(group: nil, min: 0, max: 0),
            .neverFailoverTo(sensor: "PT-101C", group: nil),
            .neverFailoverTo(sensor: "PT-101A", group: "discharge-pressure"),
            .activeSource(group: "discharge-pressure", sensor: "PT-101B", atCycle: 500),
            .diagnosis(target: "rtu-temps", cause: .busFault, withinCycles: 80, after: nil),
            .noDiagnosis(target: "TT-310", cause: .sensorFault),
            .noDiagnosis(target: nil, cause: nil),
            .alarms(target: nil, priority: nil, min: nil, max: 1, fromCycle: nil),
            .alarms(target: "discharge-pressure", priority: .safety, min: 1, max: nil, fromCycle: 200),
            .noLatchedOutputs(outputs: []),
            .noLatchedOutputs(outputs: ["pump1-run", "pump1-speed"]),
        ])
    }

    @Test func badNewExpectationsAreNamedWithTheirPosition() {
        let found = problems(Self.header + """
        expect:
          - diagnosis: { target: X, cause: gremlins }
          - alarms: { priority: urgent, max: 1 }
          - failovers: { group: g }
        """)
        #expect(found.contains { $0.contains("bad.yaml:5:") && $0.contains("expect[0].diagnosis.cause") && $0.contains("gremlins") })
        #expect(found.contains { $0.contains("expect[1].alarms.priority") && $0.contains("minor, major or safety") })
        #expect(found.contains { $0.contains("expect[2].failovers.max") && $0.contains("count, min or max") })
    }

    @Test func aRepeatingFaultIsOneEntryForEveryOnOffCycle() throws {
        let s = try ScenarioDecoder.decode(Self.header + """
        faults:
          - { at: 100, until: 140, target: device rtu-temps, kind: timeout, repeat: { every: 200, times: 4 } }
        """, file: "hil/scenarios/t.yaml")
        #expect(s.faults.map(\.at) == [100, 300, 500, 700])
        #expect(s.faults.map(\.until) == [140, 340, 540, 740])
        #expect(Set(s.faults.map(\.target)) == [.device("rtu-temps")])
    }

    @Test func aRepeatThatOverlapsItselfOrOutrunsTheRunIsRefused() {
        let overlapping = problems(Self.header + """
        faults:
          - { at: 100, until: 300, target: device rtu-temps, kind: timeout, repeat: { every: 150, times: 3 } }
        """)
        #expect(overlapping.contains { $0.contains("faults[0].repeat.every") && $0.contains("longer than the fault lasts") })
        let tooMany = problems(Self.header + """
        faults:
          - { at: 100, until: 120, target: device rtu-temps, kind: timeout, repeat: { every: 300, times: 5 } }
        """)
        #expect(tooMany.contains { $0.contains("faults[0].repeat.times") && $0.contains("at most 3 repetitions") })
        let noEnd = problems(Self.header + """
        faults:
          - { at: 100, target: device rtu-temps, kind: timeout, repeat: { every: 300, times: 2 } }
        """)
        #expect(noEnd.contains { $0.contains("faults[0].until") })
    }

    @Test func aSpikeOnAModbusSensorNeedsAMagnitudeAPulseOnAGPIOInputDoesNot() throws {
        let plant = try ConfigLoader.loadPlant(path: repositoryRoot.appendingPathComponent("configs/demo-pump-station.yaml").path).plant
        let s = try ScenarioDecoder.decode(Self.header + """
        faults:
          - { at: 100, target: sensor ESTOP, kind: spike, ms: 30 }
          - { at: 200, target: sensor PT-101A, kind: spike, ms: 30 }
        """, file: "hil/scenarios/t.yaml")
        let found = ScenarioDecoder.check(s, against: plant).map(\.description)
        #expect(found.count == 1)
        #expect(found.first?.contains("faults[1].magnitude") == true)
    }

    /// The judge's sentences for the new expectations, on a recorded result.
    @Test func theJudgeCountsFailoversAlarmsAndReadsTheActiveSource() {
        var r = ScenarioResult(name: "t", file: "t.yaml", status: .passed, cycles: 100, periodMilliseconds: 10, seed: 1)
        r.firstGoodCycle = 2
        r.groupIDs = ["p"]
        r.groupMembers = [["A", "B", "C"]]
        r.outputIDs = ["run"]
        r.failovers = [FailoverRecord(cycle: 20, group: "p", from: "A", to: "B"), FailoverRecord(cycle: 60, group: "p", from: "B", to: "C")]
        r.alarms = [AlarmRecord(cycle: 30, id: 1, target: "p", priority: "safety")]
        r.diagnoses = [DiagnosisRecord(cycle: 19, target: "A", cause: "sensorFault", evidence: "stuck", statistic: 1, severity: "warning")]
        r.samples = (1...100).map { (c: Int) -> TraceSample in
            let active: String = c < 20 ? "A" : c < 60 ? "B" : "C"
            return TraceSample(cycle: UInt64(c), sensors: [], outputs: [1], groupValues: [], trippedInterlocks: [], inSafeState: false,
                               activeSources: [active], latchedOutputs: [c >= 90])
        }
        let scenario = Scenario(name: "t", file: "t.yaml", configPath: "x", cycles: 100, faults: [ScheduledFault(at: 10, target: .sensor("A"), kind: .stuck)])
        let judge = ScenarioJudge(scenario: scenario, result: r)
        #expect(!judge.judge(.failoverCount(group: "p", min: nil, max: 1)).passed)
        #expect(judge.judge(.failoverCount(group: "p", min: 2, max: 2)).sentence.contains("exactly 2: 2 (A → B at 20, B → C at 60)"))
        #expect(!judge.judge(.neverFailoverTo(sensor: "C", group: nil)).passed)
        #expect(judge.judge(.neverFailoverTo(sensor: "A", group: nil)).passed)
        #expect(judge.judge(.activeSource(group: "p", sensor: "B", atCycle: 40)).passed)
        #expect(!judge.judge(.activeSource(group: "p", sensor: "B", atCycle: nil)).passed)
        #expect(judge.judge(.diagnosis(target: "A", cause: .sensorFault, withinCycles: 10, after: nil)).passed)
        #expect(!judge.judge(.diagnosis(target: "A", cause: .deviceFault, withinCycles: 10, after: nil)).passed)
        #expect(judge.judge(.alarms(target: nil, priority: .safety, min: 1, max: 1, fromCycle: nil)).passed)
        #expect(!judge.judge(.alarms(target: nil, priority: nil, min: nil, max: 0, fromCycle: nil)).passed)
        #expect(judge.judge(.alarms(target: nil, priority: nil, min: nil, max: 0, fromCycle: 31)).passed)
        let latched = judge.judge(.noLatchedOutputs(outputs: []))
        #expect(!latched.passed && latched.sentence.contains("run latched at cycle 90"))
    }
}
