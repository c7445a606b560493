import Testing
import Foundation
import Config
import HIL
@testable import Scenarios

/// Scenario files are checked like plant files: every problem, with file, line:column, key path,
/// what was found and what was expected.
@Suite struct ScenarioParsingTests {
    func problems(_ text: String) -> [String] {
        do {
            _ = try ScenarioDecoder.decode(text, file: "hil/scenarios/bad.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func aCompleteScenarioDecodes() throws {
        let s = try ScenarioDecoder.decode("""
        name: stuck
        requires: monitor
        config: ../../configs/demo-pump-station.yaml
        rig: { pacing: paced, ports: offset, port_offset: 1000 }
        seed: 7
        cycles: 400
        period_ms: 10
        poll_interval_ms: 10
        faults:
          - { at: 200, target: sensor PT-101A, kind: stuck, value: 6.5 }
          - { at: 250, until: 260, target: line rs485-0, kind: corrupt, probability: 0.25 }
          - { at: 300, target: signal discharge_pressure, kind: excursion, rate_per_s: 2 }
        expect:
          - failover: { group: discharge-pressure, to: PT-101B, within_cycles: 3, after: detection }
          - detection: { sensor: PT-101A, kind: stuck, within_cycles: 50 }
          - escalation: { target: discharge-pressure, reason: noHealthySource }
          - no_escalation
          - no_failover: water-temperature
          - interlock: { id: discharge-high-high, tripped: true, within_cycles: 10, cleared: true }
          - outputs_within: { output: pump1-run, min: 0, max: 0, from: 310 }
          - readings_good: { sensor: TT-310, from: 300 }
          - safe_state: false
        """, file: "hil/scenarios/stuck.yaml")
        #expect(s.name == "stuck")
        #expect(s.requires == [.monitor])
        #expect(s.configPath.hasSuffix("/configs/demo-pump-station.yaml"))
        #expect(s.rig == RigOptions(pacing: .paced, ports: .offset(1000)))
        #expect(s.seed == 7 && s.cycles == 400 && s.periodMilliseconds == 10 && s.pollIntervalMilliseconds == 10)
        #expect(s.faults[0] == ScheduledFault(at: 200, target: .sensor("PT-101A"), kind: .stuck, parameters: FaultParameters(value: 6.5)))
        #expect(s.faults[1] == ScheduledFault(at: 250, until: 260, target: .line("rs485-0"), kind: .corrupt, parameters: FaultParameters(probability: 0.25)))
        #expect(s.faults[2].parameters.ratePerSecond == 2)
        #expect(s.expectations.count == 9)
        #expect(s.expectations[0] == .failover(group: "discharge-pressure", to: "PT-101B", withinCycles: 3, after: nil, afterDetection: true))
        #expect(s.expectations[2] == .escalation(target: "discharge-pressure", reason: .noHealthySource, withinCycles: nil, after: nil))
        #expect(s.expectations[4] == .noFailover(group: "water-temperature"))
        #expect(s.expectations[8] == .safeState(false))
    }

    @Test func anUnknownFaultKindIsNamedWithItsPosition() {
        #expect(problems("""
        name: x
        config: plant.yaml
        cycles: 100
        faults:
          - { at: 10, target: sensor PT-101A, kind: melt }
        """) == [#"hil/scenarios/bad.yaml:5:45: faults[0].kind: found "melt", expected one of stuck, drift, bias, spike, noise, dropout, delay, timeout, exception, corrupt, disconnect, excursion"#])
    }

    @Test func missingKeysAreReportedAtTheMapping() {
        #expect(problems("""
        name: x
        faults:
          - { target: device tank-io, kind: delay }
        """) == [
            "hil/scenarios/bad.yaml:1:1: config: found nothing, expected the path of a plant file, relative to the scenario",
            "hil/scenarios/bad.yaml:1:1: cycles: found nothing, expected an integer in 1...1000000",
            "hil/scenarios/bad.yaml:3:5: faults[0].at: found nothing, expected a cycle number ≥ 0",
            "hil/scenarios/bad.yaml:3:5: faults[0].ms: found nothing, expected the delay in milliseconds",
        ])
    }

    @Test func aFaultThatDoesNotFitItsTargetIsInconsistent() {
        #expect(problems("""
        name: x
        config: plant.yaml
        cycles: 100
        faults:
          - { at: 10, until: 5, target: sensor PT-101A, kind: disconnect }
          - { at: 10, target: pump P1, kind: stuck }
        """) == [
            "hil/scenarios/bad.yaml:5:22: faults[0].until: found \"5\", expected a cycle number after `at`",
            "hil/scenarios/bad.yaml:5:55: faults[0].kind: found \"disconnect\", expected a sensor fault: stuck, drift, bias, spike, noise, dropout",
            #"hil/scenarios/bad.yaml:6:23: faults[1].target: found "pump P1", expected "sensor ID", "device ID", "gateway DEVICE", "backup_gateway DEVICE", "line PORT" or "signal NAME""#,
        ])
    }

    @Test func aQuotedCycleIsNotANumberAndAFaultMustStartBeforeTheEnd() {
        #expect(problems("""
        name: x
        config: plant.yaml
        cycles: 100
        faults:
          - { at: "10", target: device tank-io, kind: timeout }
          - { at: 100, target: device tank-io, kind: timeout }
        """) == [
            #"hil/scenarios/bad.yaml:5:11: faults[0].at: found the quoted string "10", expected a cycle number ≥ 0"#,
            "hil/scenarios/bad.yaml:6:11: faults[1].at: found \"100\", expected a cycle before the end of the run (cycles: 100)",
        ])
    }

    @Test func repairExpectationNamesAStrategyAndATarget() throws {
        #expect(problems("""
        name: x
        config: plant.yaml
        cycles: 100
        expect:
          - repair: { target: discharge-pressure, strategy: fixIt }
        """) == [
            #"hil/scenarios/bad.yaml:5:53: expect[0].repair.strategy: found "fixIt", expected one of failoverToBackup, holdLastGood, reconnect, switchToBackupGateway, slowPolling, groupSafeAction"#,
        ])
        let s = try ScenarioDecoder.decode("""
        name: x
        config: ../../configs/demo-pump-station.yaml
        cycles: 100
        expect:
          - repair: { target: nowhere, strategy: holdLastGood, within_cycles: 10 }
        """, file: scenarioPath("x.yaml"))
        #expect(s.expectations == [.repair(device: "nowhere", strategy: .holdLastGood, verified: nil, withinCycles: 10, after: nil)])
        do {
            _ = try ScenarioRunner.plant(for: s)
            Issue.record("expected an unresolved reference")
        } catch {
            guard case .config(let e) = error else { Issue.record("\(error)"); return }
            #expect(e.diagnostics.map(\.description).first?.hasPrefix(scenarioPath("x.yaml") + #": expect[0].repair.target: found "nowhere", expected a sensor, device or group"#) == true)
        }
    }

    @Test func noRepairDecodesBareOrWithATargetAndAStrategy() throws {
        let s = try ScenarioDecoder.decode("""
        name: x
        config: plant.yaml
        cycles: 100
        expect:
          - no_repair
          - no_repair: { strategy: switchToBackupGateway }
          - no_repair: { target: pump-plc, strategy: reconnect }
        """, file: scenarioPath("x.yaml"))
        #expect(s.expectations == [.noRepair(target: nil, strategy: nil), .noRepair(target: nil, strategy: .switchToBackupGateway),
                                   .noRepair(target: "pump-plc", strategy: .reconnect)])
    }

    @Test func unknownExpectationsAndKeysAreListed() {
        #expect(problems("""
        name: x
        config: plant.yaml
        cycles: 100
        colour: red
        expect:
          - failsafe: true
          - detection: { sensor: PT-101A, kind: wobbly }
          - safe_state: maybe
        """) == [
            #"hil/scenarios/bad.yaml:4:1: colour: found unknown key "colour", expected one of name, requires, config, rig, seed, cycles, period_ms, poll_interval_ms, faults, expect"#,
            #"hil/scenarios/bad.yaml:6:5: expect[0].failsafe: found unknown expectation "failsafe", expected one of failover, no_failover, failovers, active_source, detection, no_detection, diagnosis, no_diagnosis, alarm, escalation, no_escalation, alarms, interlock, outputs_within, no_latched_outputs, readings_good, safe_state, repair, no_repair, device_state"#,
            #"hil/scenarios/bad.yaml:7:41: expect[1].detection.kind: found "wobbly", expected one of outOfRange, stuck, rateOfChange, spike, noise, drift, dropout, latency, disagreement, deviceTimeouts, deviceExceptions, deviceCRCErrors, deviceDisconnected, deviceLatencyTrend, multivariateT2, multivariateSPE"#,
            #"hil/scenarios/bad.yaml:8:17: expect[2].safe_state: found "maybe", expected true or false"#,
        ])
    }

    @Test func aYAMLSyntaxErrorHasItsPosition() {
        let p = problems("name: x\nfaults: [ { at: 1\n")
        #expect(p.count == 1)
        #expect(p.first?.hasPrefix("hil/scenarios/bad.yaml:3:1: found YAML syntax error") == true)
    }

    @Test func namesTheScenarioUsesMustExistInThePlant() throws {
        let s = try ScenarioDecoder.decode("""
        name: x
        config: ../../configs/demo-pump-station.yaml
        cycles: 100
        faults:
          - { at: 10, target: sensor PT-999, kind: stuck }
        expect:
          - failover: { group: suction, within_cycles: 3 }
        """, file: scenarioPath("x.yaml"))
        do {
            _ = try ScenarioRunner.plant(for: s)
            Issue.record("expected unresolved references")
        } catch {
            guard case .config(let e) = error else { Issue.record("\(error)"); return }
            #expect(e.diagnostics.map(\.description) == [
                scenarioPath("x.yaml") + #": faults[0].target: found "PT-999", expected a sensor of demo-pump-station: PT-101A, PT-101B, PT-101C, PT-100, FT-110, IT-111, LT-201, TT-301A, TT-301B, TT-310, VT-311, LSH-202, ESTOP"#,
                scenarioPath("x.yaml") + #": expect[0].failover.group: found "suction", expected a redundancy group of demo-pump-station: discharge-pressure, water-temperature"#,
            ])
        }
    }

    @Test func sectionDetectionsAndNoDetectionDecodeAndTheirSubjectsAreChecked() throws {
        let s = try ScenarioDecoder.decode("""
        name: x
        config: ../../configs/demo-pump-station.yaml
        cycles: 100
        expect:
          - detection: { section: pump-1, kind: multivariateSPE, within_cycles: 30 }
          - no_detection: pump-1
          - no_detection: { sensor: FT-110, kind: spike }
          - no_detection: pump-9
        """, file: scenarioPath("x.yaml"))
        #expect(s.expectations == [
            .detection(subject: "pump-1", kind: .multivariateSPE, withinCycles: 30, after: nil),
            .noDetection(subject: "pump-1", kind: nil),
            .noDetection(subject: "FT-110", kind: .spike),
            .noDetection(subject: "pump-9", kind: nil),
        ])
        do {
            _ = try ScenarioRunner.plant(for: s)
            Issue.record("expected an unresolved reference")
        } catch {
            guard case .config(let e) = error else { Issue.record("\(error)"); return }
            #expect(e.diagnostics.count == 1)
            #expect(e.diagnostics.first?.description.contains(#"expect[3].no_detection: found "pump-9", expected a sensor, device or section of demo-pump-station: "#) == true)
            #expect(e.diagnostics.first?.description.hasSuffix("rtu-temps, pump-1") == true)
        }
    }

    @Test func everyScenarioInTheSuiteDecodes() throws {
        let dir = repositoryRoot.appendingPathComponent("hil/scenarios").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 10)
        for f in files {
            let s = try ScenarioDecoder.load(path: dir + "/" + f)
            #expect(try ScenarioDecoder.check(s, against: ScenarioRunner.plant(for: s).plant).isEmpty)
        }
    }
}
